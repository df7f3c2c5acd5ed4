"""Routes: the scorecard, the children behind each KPI, and targets."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from iro_kit.auth import Principal, Role, require_roles, roles_text
from iro_kit.dates import today
from iro_kit.db import SessionDep
from iro_kit.errors import FieldProblem, Unprocessable, problem_responses
from iro_kit.exports import (
    Column,
    ExportFormat,
    Table,
    file_content,
    file_response,
    format_dependency,
)
from iro_kit.pagination import PageDep
from scorecard_api.kpis.definitions import BY_CODE
from scorecard_api.kpis.formulas import Window
from scorecard_api.scorecard import service
from scorecard_api.scorecard.schemas import (
    DrillDown,
    Scorecard,
    Target,
    TargetChange,
    TargetHistoryRow,
)

READ_ROLES = (Role.performance, Role.iro_manager, Role.iro, Role.admin)
WRITE_ROLES = (Role.iro_manager, Role.admin)
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Writer = Annotated[Principal, Depends(require_roles(*WRITE_ROLES))]
FRESHNESS_HEADER = "X-Facts-Complete-To"
FRESHNESS_TEXT = (
    f" Every response carries `{FRESHNESS_HEADER}`: the time of the newest event applied from "
    "each producer (`reviews-api=...Z, drp-api=...Z`), so a reader can tell if the relay is "
    "behind."
)
READ_TEXT = " " + roles_text(*READ_ROLES)
# The calendar's range (iro_kit.calendar): dates outside it are refused, not looped over.
EARLIEST, LATEST = date(1990, 1, 1), date(2075, 12, 31)
ERRORS = problem_responses(401, 403, 406, 422)

router = APIRouter(prefix="/scorecard/v1", tags=["scorecard"])
_FORMAT = format_dependency(ExportFormat.json, ExportFormat.csv, ExportFormat.xlsx)


def _check_day(day: date, name: str) -> date:
    if not EARLIEST <= day <= LATEST:
        raise Unprocessable(
            f"{name}: must be between {EARLIEST} and {LATEST}.",
            errors=[FieldProblem(pointer=f"/{name}", location="query", message="out of range")],
        )
    return day


def _windows(as_at: list[date] | None, start: date | None) -> list[Window]:
    days = [_check_day(d, "as_at") for d in (as_at or [today()])]
    if len(days) > 24:
        raise Unprocessable(
            "as_at: at most 24 columns in one scorecard.",
            errors=[FieldProblem(pointer="/as_at", location="query", message="too many dates")],
        )
    if start is not None:
        _check_day(start, "from")
        if any(start > d for d in days):
            raise Unprocessable(
                "from: must be on or before every as_at date.",
                errors=[FieldProblem(pointer="/from", location="query", message="after as_at")],
            )
    return [service.window_for(d, start) for d in days]


AsAtList = Annotated[
    list[date] | None,
    Query(
        description="The days to compute for, one column each (default today). Repeat the "
        "parameter for several: `?as_at=2015-05-31&as_at=2016-03-31&as_at=2017-03-31`."
    ),
]
OneAsAt = Annotated[date | None, Query(description="The day to compute for (default today).")]
From = Annotated[
    date | None,
    Query(
        alias="from",
        description="The window's first day (default: the 12 months ending on each as-at day, "
        "S = D - 12 months + 1 day).",
    ),
]


async def _fresh(session: SessionDep, response: Response) -> str:
    header = service.freshness_header(await service.freshness(session))
    response.headers[FRESHNESS_HEADER] = header
    return header


Freshness = Annotated[str, Depends(_fresh)]


def _with_freshness(response: Response, header: str) -> Response:
    """A response returned whole does not take the injected response's headers: copy it."""
    response.headers[FRESHNESS_HEADER] = header
    return response


def _scorecard_table(card: Scorecard) -> Table:
    columns = [Column("KPI", lambda r: r["title"], 60), Column("Code", lambda r: r["code"], 28)]
    rows: dict[str, dict[str, Any]] = {}
    for index, column in enumerate(card.columns):
        label = f"{column.as_at.isoformat()}"
        for kpi in column.kpis:
            row = rows.setdefault(kpi.code, {"code": kpi.code, "title": kpi.title})
            row[index] = kpi
        columns += [
            Column(f"{label} numerator", lambda r, i=index: r[i].numerator),
            Column(f"{label} denominator", lambda r, i=index: r[i].denominator),
            Column(f"{label} value", lambda r, i=index: r[i].value),
            Column(f"{label} target", lambda r, i=index: r[i].target),
            Column(f"{label} RAG", lambda r, i=index: r[i].rag.value if r[i].rag else None),
            Column(f"{label} change", lambda r, i=index: r[i].change),
        ]
    return Table("Scorecard", columns, list(rows.values()))


@router.get(
    "/scorecard",
    summary="The KPI scorecard, one column per as-at day",
    description="Every KPI of KPIS.md for each `as_at` day over its window (default the 12 "
    "months ending on it): numerator, denominator, unrounded value (null when the denominator "
    "is 0), target, direction, RAG and the change from the previous column. Only facts dated "
    "on or before each day count, so a past column never moves. JSON, CSV or XLSX (by `Accept` "
    "or `?format=`)." + FRESHNESS_TEXT + READ_TEXT,
    response_model=Scorecard,
    response_model_by_alias=True,
    responses={**file_content(ExportFormat.csv, ExportFormat.xlsx), **ERRORS},
)
async def get_scorecard(
    request: Request,
    session: SessionDep,
    _: Reader,
    fresh: Freshness,
    chosen: Annotated[ExportFormat, Depends(_FORMAT)],
    as_at: AsAtList = None,
    start: From = None,
) -> Any:
    windows = _windows(as_at, start)
    columns = await service.scorecard_columns(session, windows, request.app.state.calendar)
    card = Scorecard(columns=columns)
    if chosen is ExportFormat.json:
        return card
    last = windows[-1].end
    return _with_freshness(
        file_response(_scorecard_table(card), chosen, f"scorecard-{last}"), fresh
    )


_DRILL_COLUMNS = [
    Column("Child id", lambda r: str(r.child_id), 38),
    Column("Case id", lambda r: r.external_id),
    Column("Name", lambda r: r.name, 24),
    Column("Met", lambda r: r.met, 8),
    Column("Reason", lambda r: r.reason, 70),
    Column("IRO", lambda r: r.iro.name if r.iro else None, 22),
]


@router.get(
    "/kpis/{code}/children",
    summary="The children behind a KPI (drill-down)",
    description="Every member of the KPI's denominator as at `as_at` (children, or reviews for "
    "the review KPIs, visits for the visit count), marked met or not, with the reason in "
    "words and the dates that decided it, and the IRO allocated that day. Not met first. "
    "Filter by `iro_id` and `met`; JSON is paginated, CSV and XLSX hold every row."
    + FRESHNESS_TEXT
    + READ_TEXT,
    response_model=DrillDown,
    response_model_by_alias=True,
    responses={**file_content(ExportFormat.csv, ExportFormat.xlsx), **problem_responses(404)},
)
async def kpi_children(
    code: str,
    request: Request,
    session: SessionDep,
    _: Reader,
    fresh: Freshness,
    page: PageDep,
    chosen: Annotated[ExportFormat, Depends(_FORMAT)],
    as_at: OneAsAt = None,
    start: From = None,
    iro_id: Annotated[uuid.UUID | None, Query(description="Only this IRO's children.")] = None,
    met: Annotated[bool | None, Query(description="Only met (true) or not met (false).")] = None,
) -> Any:
    (window,) = _windows([as_at] if as_at else None, start)
    figure, rows = await service.drill_down(
        session, code, window, request.app.state.calendar, iro_id, met
    )
    if chosen is not ExportFormat.json:
        table = Table(BY_CODE[code].title[:31], _DRILL_COLUMNS, rows)
        return _with_freshness(file_response(table, chosen, f"{code}-{window.end}"), fresh)
    sliced = page.slice(rows)
    return DrillDown(
        code=code,
        title=BY_CODE[code].title,
        as_at=window.end,
        from_=window.start,
        numerator=figure.numerator,
        denominator=figure.denominator,
        value=figure.value,
        items=sliced.items,
        next_cursor=sliced.next_cursor,
        total=sliced.total,
    )


targets_router = APIRouter(prefix="/scorecard/v1", tags=["targets"])


@targets_router.get(
    "/targets",
    summary="Targets, direction and amber tolerance of every KPI",
    description="A KPI with no target has no RAG rating." + READ_TEXT,
    responses=problem_responses(401, 403),
)
async def list_targets(session: SessionDep, _: Reader) -> list[Target]:
    return await service.targets(session)


@targets_router.put(
    "/targets/{code}",
    summary="Set a KPI's target",
    description="Replaces the KPI's target, direction and amber tolerance (green at or better "
    "than the target, amber within the tolerance, red beyond). Every change is kept with who "
    "made it, when, and the old value (`GET targets/{code}/history`). Roles: `iro_manager`, "
    "`admin`.",
    responses=problem_responses(401, 403, 404, 422),
)
async def put_target(
    code: str, change: TargetChange, session: SessionDep, principal: Writer
) -> Target:
    return await service.set_target(session, code, change, principal.subject)


@targets_router.get(
    "/targets/{code}/history",
    summary="Every change of a KPI's target, newest first",
    description=READ_TEXT.strip(),
    responses=problem_responses(401, 403, 404),
)
async def target_history(code: str, session: SessionDep, _: Reader) -> list[TargetHistoryRow]:
    return await service.target_history(session, code)
