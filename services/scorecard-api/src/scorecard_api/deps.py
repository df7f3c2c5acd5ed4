"""What every scorecard route shares: roles, the as-at days and window, exports, freshness."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iro_kit.auth import Principal, Role, require_roles
from iro_kit.dates import FIRST_DAY, LAST_DAY, Day, today
from iro_kit.db import SessionDep
from iro_kit.errors import FieldProblem, Unprocessable, problem_responses
from iro_kit.exports import (
    PNG_TYPE,
    SVG_TYPE,
    ExportFormat,
    Table,
    file_response,
    format_dependency,
)
from scorecard_api.charts import ChartFormat
from scorecard_api.kpis.formulas import Window, default_window
from scorecard_api.models import producer_progress
from scorecard_api.projections.handlers import as_utc

READ_ROLES = (Role.performance, Role.iro_manager, Role.iro, Role.admin)
WRITE_ROLES = (Role.iro_manager, Role.admin)
Reader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
Writer = Annotated[Principal, Depends(require_roles(*WRITE_ROLES))]
ERRORS = problem_responses(401, 403, 406, 422)
_TABLES = (ExportFormat.json, ExportFormat.csv, ExportFormat.xlsx)
TableFormat = Annotated[ExportFormat, Depends(format_dependency(*_TABLES))]
ChartOrTableFormat = Annotated[
    ExportFormat, Depends(format_dependency(*_TABLES, ExportFormat.svg, ExportFormat.png))
]

FRESHNESS_HEADER = "X-Facts-Complete-To"
FRESHNESS_TEXT = (
    f" Every response carries `{FRESHNESS_HEADER}`: the time of the newest event applied from "
    "each producer (`reviews-api=...Z, drp-api=...Z`), so a reader can tell if the relay is "
    "behind."
)

# The supported range (iro_kit.dates): the calendar covers it, so nothing loops day by day.
EARLIEST, LATEST = FIRST_DAY, LAST_DAY
MAX_COLUMNS = 24

AsAtList = Annotated[
    list[Day] | None,
    Query(
        description="The days to compute for, one column each (default today). Repeat the "
        "parameter for several: `?as_at=2015-05-31&as_at=2016-03-31&as_at=2017-03-31`."
    ),
]
OneAsAt = Annotated[Day | None, Query(description="The day to compute for (default today).")]
From = Annotated[
    Day | None,
    Query(
        alias="from",
        description="The window's first day (default: the 12 months ending on each as-at day, "
        "S = D - 12 months + 1 day).",
    ),
]


def _refused(name: str, detail: str, message: str) -> Unprocessable:
    return Unprocessable(
        f"{name}: {detail}",
        errors=[FieldProblem(pointer=f"/{name}", location="query", message=message)],
    )


def check_day(day: date, name: str) -> date:
    if not EARLIEST <= day <= LATEST:
        raise _refused(name, f"must be between {EARLIEST} and {LATEST}.", "out of range")
    return day


def windows(as_at: list[date] | None, start: date | None) -> list[Window]:
    """One window per as-at day: from `start`, or the 12 months ending on the day."""
    days = [check_day(d, "as_at") for d in (as_at or [today()])]
    if len(days) > MAX_COLUMNS:
        raise _refused(
            "as_at", f"at most {MAX_COLUMNS} columns in one scorecard.", "too many dates"
        )
    if start is None:
        return [default_window(d) for d in days]
    check_day(start, "from")
    if any(start > d for d in days):
        raise _refused("from", "must be on or before every as_at date.", "after as_at")
    return [Window(start, d) for d in days]


def one_window(as_at: date | None, start: date | None) -> Window:
    (window,) = windows([as_at] if as_at else None, start)
    return window


def as_json_or_file(chosen: ExportFormat, body: Any, table: Callable[[], Table], name: str) -> Any:
    """The route's model for JSON; else the table as a CSV or XLSX file named `name`."""
    if chosen is ExportFormat.json:
        return body
    return file_response(table(), chosen, name)


def chart_response(content: bytes, fmt: ChartFormat, name: str) -> Response:
    media = SVG_TYPE if fmt is ChartFormat.svg else PNG_TYPE
    disposition = f'inline; filename="{name}.{fmt.value}"'
    return Response(content=content, media_type=media, headers={"Content-Disposition": disposition})


# --- freshness ----------------------------------------------------------------------------


async def freshness(session: AsyncSession) -> dict[str, datetime | None]:
    """The newest event applied from each producer."""
    rows = await session.execute(
        select(producer_progress.c.source, producer_progress.c.last_event_at)
    )
    return {source: at for source, at in rows}


def freshness_header(progress: dict[str, datetime | None]) -> str:
    """`reviews-api=2026-12-02T10:00:00Z, drp-api=...`; `none` before any event."""
    if not progress:
        return "none"
    parts = []
    for source in sorted(progress):
        at = progress[source]
        text = as_utc(at).astimezone(UTC).isoformat().replace("+00:00", "Z") if at else "none"
        parts.append(f"{source}={text}")
    return ", ".join(parts)


async def _record_freshness(request: Request, session: SessionDep) -> None:
    # Read after the caller is authorised and before the figures, so the header never claims
    # more than the figures used.
    request.state.facts_complete_to = freshness_header(await freshness(session))


# For routers that serve figures: the caller's role first, then the freshness.
READ_AND_RECORD_FRESHNESS = [Depends(require_roles(*READ_ROLES)), Depends(_record_freshness)]


class FreshnessHeaderMiddleware:
    """Every response whose route recorded the freshness carries it, JSON, file or chart.

    Plain ASGI (not `@app.middleware("http")`): it only adds a header as the response starts,
    so it need not run the route in a task of its own as Starlette's BaseHTTPMiddleware does,
    on every request, the event inbox's included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                # request.state lives in scope["state"]: _record_freshness wrote it there.
                header = scope.get("state", {}).get("facts_complete_to")
                if header is not None:
                    headers = MutableHeaders(scope=message)
                    headers[FRESHNESS_HEADER] = header
            await send(message)

        await self.app(scope, receive, send_with_header)


def install_freshness_header(app: FastAPI) -> None:
    app.add_middleware(FreshnessHeaderMiddleware)
