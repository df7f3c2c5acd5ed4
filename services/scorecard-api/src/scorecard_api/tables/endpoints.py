"""Routes: the annual report's tables."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Request

from iro_kit.db import SessionDep
from iro_kit.exports import Column, ExportFormat, Table, file_content
from scorecard_api import charts
from scorecard_api.deps import (
    ERRORS,
    FRESHNESS_TEXT,
    READ_AND_RECORD_FRESHNESS,
    READ_TEXT,
    ChartOrTableFormat,
    From,
    OneAsAt,
    TableFormat,
    as_json_or_file,
    chart_response,
    one_window,
)
from scorecard_api.tables.caseload import CaseloadTable, load_caseload
from scorecard_api.tables.escalations import EscalationsTable, load_escalations
from scorecard_api.tables.reviews import (
    LateReviewsTable,
    ToolsTable,
    load_late_reviews,
    load_tools,
)

router = APIRouter(
    prefix="/scorecard/v1/tables", tags=["tables"], dependencies=READ_AND_RECORD_FRESHNESS
)

_CASELOAD_COLUMNS = [
    Column("IRO", lambda r: r.name, 24),
    Column("FTE", lambda r: r.fte, 8),
    Column("Children allocated", lambda r: r.allocated),
    Column("Caseload per FTE", lambda r: r.caseload_per_fte),
    Column("Within 50-70", lambda r: r.within_range),
]

_TOOLS_COLUMNS = [
    Column("Reviews held", lambda t: t.reviews_held),
    Column("MOMO", lambda t: t.momo),
    Column("Viewpoint", lambda t: t.viewpoint),
]


@router.get(
    "/caseload",
    summary="Table 1: caseloads",
    description="Children in P(D); reviews held in the window (short-break children's "
    "included); the average caseload (children in P(D) / total FTE of IROs in post on D, "
    "unrounded); and per IRO in post on D, the children allocated that day, FTE, caseload per "
    "FTE and whether it is inside the IRO Handbook's 50-70. CSV and XLSX hold the per-IRO rows."
    + FRESHNESS_TEXT
    + READ_TEXT,
    response_model=CaseloadTable,
    response_model_by_alias=True,
    responses={**file_content(ExportFormat.csv, ExportFormat.xlsx), **ERRORS},
)
async def caseload(
    request: Request,
    session: SessionDep,
    chosen: TableFormat,
    as_at: OneAsAt = None,
    start: From = None,
) -> Any:
    window = one_window(as_at, start)
    table = await load_caseload(session, window, request.app.state.calendar)
    export = partial(Table, "Caseload", _CASELOAD_COLUMNS, table.iros)
    return as_json_or_file(chosen, table, export, f"caseload-{window.end}")


@router.get(
    "/late-reviews",
    summary="Table 3: late reviews by reason and financial quarter",
    description="Reviews held after their due date with the held date in the window, counted "
    "by the recorded reason (`not_recorded` where none) and by financial quarter of the held "
    "date (Q1 April-June ... Q4 January-March), with the distinct children per quarter. CSV "
    "and XLSX hold the reason rows." + FRESHNESS_TEXT + READ_TEXT,
    response_model=LateReviewsTable,
    response_model_by_alias=True,
    responses={**file_content(ExportFormat.csv, ExportFormat.xlsx), **ERRORS},
)
async def late_reviews(
    session: SessionDep,
    chosen: TableFormat,
    as_at: OneAsAt = None,
    start: From = None,
) -> Any:
    window = one_window(as_at, start)
    table = await load_late_reviews(session, window)
    columns = (
        [Column("Reason", lambda r: r.reason, 36)]
        + [Column(q, lambda r, q=q: r.by_quarter[q]) for q in table.quarters]
        + [Column("Total", lambda r: r.total)]
    )
    export = partial(Table, "Late reviews", columns, table.reasons)
    return as_json_or_file(chosen, table, export, f"late-reviews-{window.end}")


@router.get(
    "/tools",
    summary="Use of tools: MOMO and Viewpoint",
    description="Reviews held in the window, and those whose child's views were conveyed by "
    "MOMO and by Viewpoint." + FRESHNESS_TEXT + READ_TEXT,
    response_model=ToolsTable,
    response_model_by_alias=True,
    responses={**file_content(ExportFormat.csv, ExportFormat.xlsx), **ERRORS},
)
async def tools(
    session: SessionDep,
    chosen: TableFormat,
    as_at: OneAsAt = None,
    start: From = None,
) -> Any:
    window = one_window(as_at, start)
    table = await load_tools(session, window)
    export = partial(Table, "Use of tools", _TOOLS_COLUMNS, [table])
    return as_json_or_file(chosen, table, export, f"tools-{window.end}")


def _escalation_rows(table: EscalationsTable) -> list[tuple[str, str, float | int | None]]:
    return [
        ("Raised in the window", "", table.raised),
        *(("By theme", theme, n) for theme, n in table.by_theme.items()),
        *(("By highest stage reached", stage, n) for stage, n in table.by_highest_stage.items()),
        ("Open on the day", "", table.open),
        ("Overdue on the day", "", table.overdue),
        ("Resolved", "", table.resolved),
        ("Resolved within 20 working days", "", table.resolved_within_20_working_days),
        ("% resolved within 20 working days", "", table.resolved_within_20_working_days_percent),
    ]


_ESCALATION_COLUMNS = [
    Column("Measure", lambda r: r[0], 34),
    Column("Of", lambda r: r[1], 28),
    Column("Value", lambda r: r[2]),
]


def theme_label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def themes_chart(table: EscalationsTable, fmt: charts.ChartFormat) -> bytes:
    bars = [(theme_label(theme), n) for theme, n in table.by_theme.items()]
    title = f"Disputes by theme, {table.from_.isoformat()} to {table.as_at.isoformat()}"
    return charts.bar_chart(title, bars, "Theme", "Disputes", fmt)


@router.get(
    "/escalations",
    summary="Table 4: case escalations, and the chart of disputes by theme",
    description="Disputes about looked after children raised in the window, by theme (a "
    "dispute with two themes counts once in each) and by the highest stage reached by the day; "
    "disputes open on the day (raised on or before it, not closed on or before it) and overdue "
    "(open, below stage 5, past the due date of the stage it was at); and the % resolved "
    "within 20 working days of being raised, of those raised in the window and resolved by the "
    "day. As JSON, CSV or XLSX; `image/svg+xml` or `image/png` (or `?format=svg|png`) give the "
    "bar chart of disputes by theme, 800 x 400." + FRESHNESS_TEXT + READ_TEXT,
    response_model=EscalationsTable,
    response_model_by_alias=True,
    responses={
        **file_content(ExportFormat.csv, ExportFormat.xlsx, ExportFormat.svg, ExportFormat.png),
        **ERRORS,
    },
)
async def escalations(
    session: SessionDep,
    chosen: ChartOrTableFormat,
    as_at: OneAsAt = None,
    start: From = None,
) -> Any:
    window = one_window(as_at, start)
    table = await load_escalations(session, window)
    name = f"escalations-{window.end}"
    if chosen in (ExportFormat.svg, ExportFormat.png):
        fmt = charts.ChartFormat(chosen.value)
        content = await anyio.to_thread.run_sync(themes_chart, table, fmt)
        return chart_response(content, fmt, f"disputes-by-theme-{window.end}")
    export = partial(Table, "Escalations", _ESCALATION_COLUMNS, _escalation_rows(table))
    return as_json_or_file(chosen, table, export, name)
