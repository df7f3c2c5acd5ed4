"""Routes: the annual report's tables."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio
from fastapi import APIRouter, Request

from iro_kit.db import SessionDep
from iro_kit.exports import ExportFormat, file_content
from scorecard_api import charts, sheets
from scorecard_api.deps import (
    ERRORS,
    FRESHNESS_TEXT,
    READ_AND_RECORD_FRESHNESS,
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


@router.get(
    "/caseload",
    summary="Table 1: caseloads",
    description="Children in P(D); reviews held in the window (short-break children's "
    "included); the average caseload (children in P(D) / total FTE of IROs in post on D, "
    "unrounded); and per IRO in post on D, the children allocated that day, FTE, caseload per "
    "FTE and whether it is inside the IRO Handbook's 50-70. CSV and XLSX hold the per-IRO rows."
    + FRESHNESS_TEXT,
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
    export = partial(sheets.caseload_sheet, table)
    return as_json_or_file(chosen, table, export, f"caseload-{window.end}")


@router.get(
    "/late-reviews",
    summary="Table 3: late reviews by reason and financial quarter",
    description="Reviews held after their due date with the held date in the window, counted "
    "by the recorded reason (`not_recorded` where none) and by financial quarter of the held "
    "date (Q1 April-June ... Q4 January-March), with the distinct children per quarter. CSV "
    "and XLSX hold the reason rows." + FRESHNESS_TEXT,
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
    export = partial(sheets.late_reviews_sheet, table)
    return as_json_or_file(chosen, table, export, f"late-reviews-{window.end}")


@router.get(
    "/tools",
    summary="Use of tools: MOMO and Viewpoint",
    description="Reviews held in the window, and those whose child's views were conveyed by "
    "MOMO and by Viewpoint." + FRESHNESS_TEXT,
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
    export = partial(sheets.tools_sheet, table)
    return as_json_or_file(chosen, table, export, f"tools-{window.end}")


@router.get(
    "/escalations",
    summary="Table 4: case escalations, and the chart of disputes by theme",
    description="Disputes about looked after children raised in the window, by theme (a "
    "dispute with two themes counts once in each) and by the highest stage reached by the day; "
    "disputes open on the day (raised on or before it, not closed on or before it) and overdue "
    "(open, below stage 5, past the due date of the stage it was at); and the % resolved "
    "within 20 working days of being raised, of those raised in the window and resolved by the "
    "day. As JSON, CSV or XLSX; `image/svg+xml` or `image/png` (or `?format=svg|png`) give the "
    "bar chart of disputes by theme, 800 x 400." + FRESHNESS_TEXT,
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
        content = await anyio.to_thread.run_sync(sheets.themes_chart, table, fmt)
        return chart_response(content, fmt, f"disputes-by-theme-{window.end}")
    export = partial(sheets.escalations_sheet, table)
    return as_json_or_file(chosen, table, export, name)
