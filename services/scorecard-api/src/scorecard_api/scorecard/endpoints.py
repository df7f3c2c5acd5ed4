"""Routes: the scorecard, the children behind each KPI, and targets."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from iro_kit import audit
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.exports import ExportFormat, file_content
from iro_kit.pagination import PageDep
from scorecard_api import sheets
from scorecard_api.deps import (
    ERRORS,
    FRESHNESS_TEXT,
    READ_AND_RECORD_FRESHNESS,
    AsAtList,
    From,
    OneAsAt,
    Reader,
    TableFormat,
    Writer,
    as_json_or_file,
    one_window,
    windows,
)
from scorecard_api.kpis.definitions import BY_CODE
from scorecard_api.scorecard import service
from scorecard_api.scorecard.schemas import (
    DrillDown,
    Scorecard,
    Target,
    TargetChange,
    TargetHistoryRow,
)

router = APIRouter(
    prefix="/scorecard/v1", tags=["scorecard"], dependencies=READ_AND_RECORD_FRESHNESS
)


@router.get(
    "/scorecard",
    summary="The KPI scorecard, one column per as-at day",
    description="Every KPI of KPIS.md for each `as_at` day over its window (default the 12 "
    "months ending on it): numerator, denominator, unrounded value (null when the denominator "
    "is 0), target, direction, RAG and the change from the previous column. Only facts dated "
    "on or before each day count, so a past column never moves. JSON, CSV or XLSX (by `Accept` "
    "or `?format=`)." + FRESHNESS_TEXT,
    response_model=Scorecard,
    response_model_by_alias=True,
    responses={**file_content(ExportFormat.csv, ExportFormat.xlsx), **ERRORS},
)
async def get_scorecard(
    request: Request,
    session: SessionDep,
    chosen: TableFormat,
    as_at: AsAtList = None,
    start: From = None,
) -> Any:
    days = windows(as_at, start)
    columns = await service.scorecard_columns(session, days)
    card = Scorecard(columns=columns)
    name = f"scorecard-{days[-1].end}"
    return as_json_or_file(chosen, card, partial(sheets.scorecard_sheet, card), name)


@router.get(
    "/kpis/{code}/children",
    summary="The children behind a KPI (drill-down)",
    description="Every member of the KPI's denominator as at `as_at` (children, or reviews for "
    "the review KPIs, visits for the visit count), marked met or not, with the reason in "
    "words and the dates that decided it, and the IRO allocated that day. Not met first. "
    "Filter by `iro_id` and `met`; JSON is paginated, CSV and XLSX hold every row."
    + FRESHNESS_TEXT,
    response_model=DrillDown,
    response_model_by_alias=True,
    responses={**file_content(ExportFormat.csv, ExportFormat.xlsx), **problem_responses(404, 406)},
)
async def kpi_children(
    code: str,
    request: Request,
    session: SessionDep,
    page: PageDep,
    chosen: TableFormat,
    as_at: OneAsAt = None,
    start: From = None,
    iro_id: Annotated[uuid.UUID | None, Query(description="Only this IRO's children.")] = None,
    met: Annotated[bool | None, Query(description="Only met (true) or not met (false).")] = None,
) -> Any:
    window = one_window(as_at, start)
    figure, rows = await service.drill_down(
        session, code, window, request.app.state.calendar, iro_id, met
    )
    sliced = page.slice(rows)
    # A drill-down names children: every one it shows (a file holds every row) is recorded.
    shown = sliced.items if chosen is ExportFormat.json else rows
    audit.touched(child_ids=[row.child_id for row in shown], resource_type="kpi", resource_id=code)
    body = DrillDown(
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
    table = partial(sheets.drill_down_sheet, BY_CODE[code].title, rows)
    return as_json_or_file(chosen, body, table, f"{code}-{window.end}")


targets_router = APIRouter(prefix="/scorecard/v1", tags=["targets"])


@targets_router.get(
    "/targets",
    summary="Targets, direction and amber tolerance of every KPI",
    description="A KPI with no target has no RAG rating. JSON, CSV or XLSX.",
    response_model=list[Target],
    responses={**file_content(ExportFormat.csv, ExportFormat.xlsx), **ERRORS},
)
async def list_targets(session: SessionDep, _: Reader, chosen: TableFormat) -> Any:
    listed = await service.targets(session)
    return as_json_or_file(chosen, listed, partial(sheets.targets_sheet, listed), "targets")


@targets_router.put(
    "/targets/{code}",
    summary="Set a KPI's target",
    description="Replaces the KPI's target, direction and amber tolerance (green at or better "
    "than the target, amber within the tolerance, red beyond). Every change is kept with who "
    "made it, when, and the old value (`GET targets/{code}/history`).",
    responses=problem_responses(401, 403, 404, 422),
)
async def put_target(
    code: str, change: TargetChange, session: SessionDep, principal: Writer
) -> Target:
    return await service.set_target(session, code, change, principal.subject)


@targets_router.get(
    "/targets/{code}/history",
    summary="Every change of a KPI's target, newest first",
    description="Who changed the target, when, the old and the new value.",
    responses=problem_responses(401, 403, 404),
)
async def target_history(code: str, session: SessionDep, _: Reader) -> list[TargetHistoryRow]:
    return await service.target_history(session, code)
