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
