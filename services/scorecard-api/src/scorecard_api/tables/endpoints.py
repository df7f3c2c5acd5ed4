"""Routes: the annual report's tables."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request

from iro_kit.db import SessionDep
from iro_kit.exports import Column, ExportFormat, Table, file_content
from scorecard_api.deps import (
    ERRORS,
    FRESHNESS_TEXT,
    READ_AND_RECORD_FRESHNESS,
    READ_TEXT,
    From,
    OneAsAt,
    TableFormat,
    as_json_or_file,
    one_window,
)
from scorecard_api.tables.caseload import CaseloadTable, load_caseload
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
