"""Routes: the annual report's tables."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from iro_kit.db import SessionDep
from iro_kit.exports import (
    Column,
    ExportFormat,
    Table,
    file_content,
    file_response,
    format_dependency,
)
from scorecard_api.scorecard.endpoints import (
    ERRORS,
    FRESHNESS_TEXT,
    READ_TEXT,
    Freshness,
    From,
    OneAsAt,
    Reader,
    _windows,
    _with_freshness,
)
from scorecard_api.tables.caseload import CaseloadTable, load_caseload
from scorecard_api.tables.reviews import (
    LateReviewsTable,
    ToolsTable,
    load_late_reviews,
    load_tools,
)

router = APIRouter(prefix="/scorecard/v1/tables", tags=["tables"])
_FORMAT = format_dependency(ExportFormat.json, ExportFormat.csv, ExportFormat.xlsx)

_CASELOAD_COLUMNS = [
    Column("IRO", lambda r: r.name, 24),
    Column("FTE", lambda r: r.fte, 8),
    Column("Children allocated", lambda r: r.allocated),
    Column("Caseload per FTE", lambda r: r.caseload_per_fte),
    Column("Within 50-70", lambda r: r.within_range),
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
    _: Reader,
    fresh: Freshness,
    chosen: Annotated[ExportFormat, Depends(_FORMAT)],
    as_at: OneAsAt = None,
    start: From = None,
) -> Any:
    (window,) = _windows([as_at] if as_at else None, start)
    table = await load_caseload(session, window, request.app.state.calendar)
    if chosen is ExportFormat.json:
        return table
    export = Table("Caseload", _CASELOAD_COLUMNS, table.iros)
    return _with_freshness(file_response(export, chosen, f"caseload-{window.end}"), fresh)


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
    _: Reader,
    fresh: Freshness,
    chosen: Annotated[ExportFormat, Depends(_FORMAT)],
    as_at: OneAsAt = None,
    start: From = None,
) -> Any:
    (window,) = _windows([as_at] if as_at else None, start)
    table = await load_late_reviews(session, window)
    if chosen is ExportFormat.json:
        return table
    columns = (
        [Column("Reason", lambda r: r.reason, 36)]
        + [Column(q, lambda r, q=q: r.by_quarter[q]) for q in table.quarters]
        + [Column("Total", lambda r: r.total)]
    )
    export = Table("Late reviews", columns, table.reasons)
    return _with_freshness(file_response(export, chosen, f"late-reviews-{window.end}"), fresh)


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
    _: Reader,
    fresh: Freshness,
    chosen: Annotated[ExportFormat, Depends(_FORMAT)],
    as_at: OneAsAt = None,
    start: From = None,
) -> Any:
    (window,) = _windows([as_at] if as_at else None, start)
    table = await load_tools(session, window)
    if chosen is ExportFormat.json:
        return table
    columns = [
        Column("Reviews held", lambda t: t.reviews_held),
        Column("MOMO", lambda t: t.momo),
        Column("Viewpoint", lambda t: t.viewpoint),
    ]
    export = Table("Use of tools", columns, [table])
    return _with_freshness(file_response(export, chosen, f"tools-{window.end}"), fresh)
