"""Route: the annual report's pack for a financial year."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request, Response

from iro_kit.db import SessionDep
from iro_kit.exports import HTML_TYPE, XLSX_TYPE, ExportFormat, file_content, format_dependency
from scorecard_api.deps import ERRORS, FRESHNESS_TEXT, READ_AND_RECORD_FRESHNESS
from scorecard_api.report import (
    AnnualReport,
    annual_report,
    render_charts,
    report_html,
    report_xlsx,
)

router = APIRouter(
    prefix="/scorecard/v1", tags=["annual-report"], dependencies=READ_AND_RECORD_FRESHNESS
)
PackFormat = Annotated[
    ExportFormat,
    Depends(format_dependency(ExportFormat.json, ExportFormat.xlsx, ExportFormat.html)),
]
# The years the working-day calendar covers, with the year before for the previous outturn.
Year = Annotated[
    int, Query(ge=1991, le=2074, description="The financial year's first year: 2016 is 2016/17.")
]


@router.get(
    "/annual-report",
    summary="The annual report's pack for a financial year",
    description="Everything the annual report to the Corporate Parenting Board needs for "
    "1 April `year` to 31 March the next, in one request: the scorecard with the previous "
    "year's outturn beside it, Table 1 (caseloads), Table 3 (late reviews), Table 4 "
    "(escalations), the use of MOMO and Viewpoint, and the charts (disputes by theme; reviews "
    "in timescale at each month end). As JSON (charts by link), as one XLSX workbook with a "
    "sheet per table and the charts embedded, or as one printable HTML page with the charts "
    "inline (`Accept` or `?format=json|xlsx|html`)." + FRESHNESS_TEXT,
    response_model=AnnualReport,
    response_model_by_alias=True,
    responses={**file_content(ExportFormat.xlsx, ExportFormat.html), **ERRORS},
)
async def get_annual_report(
    request: Request, session: SessionDep, year: Year, chosen: PackFormat
) -> Any:
    report = await annual_report(session, year, request.app.state.calendar)
    if chosen is ExportFormat.json:
        return report
    rendered = await anyio.to_thread.run_sync(render_charts, report)
    name = f"iro-annual-report-{year}-{(year + 1) % 100:02d}"
    if chosen is ExportFormat.xlsx:
        content = await anyio.to_thread.run_sync(report_xlsx, report, rendered)
        disposition, media = f'attachment; filename="{name}.xlsx"', XLSX_TYPE
    else:
        content, disposition = report_html(report, rendered), f'inline; filename="{name}.html"'
        media = f"{HTML_TYPE}; charset=utf-8"
    return Response(content=content, media_type=media, headers={"Content-Disposition": disposition})
