"""The weekly tracker of open disputes, as JSON, CSV or XLSX."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from drp_api.deps import (
    RulesDep,
    SettingsDep,
    TrackerReader,
)
from drp_api.tracker import service
from drp_api.tracker.schemas import TrackerRow
from iro_kit import audit
from iro_kit.dates import AsAt
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.exports import ExportFormat, file_content, file_response, format_dependency
from iro_kit.pagination import Page, PageDep

router = APIRouter(prefix="/drp/v1", tags=["tracker"])

_FORMAT = format_dependency(ExportFormat.json, ExportFormat.csv, ExportFormat.xlsx)


@router.get(
    "/tracker",
    summary="The weekly tracker of open disputes",
    description="Every dispute open at the end of `as_at` (default today), as it stood that "
    "day: child, IRO, category, themes, stage, days open (calendar and working), stage and "
    "overall due dates, overdue flags (from the day after the due date) and the last action. "
    "Oldest first. JSON is paginated; CSV and XLSX (by `Accept` or `?format=`) hold every row, "
    "with a filename carrying the date; the XLSX has a header row, frozen panes, a filter and "
    "dates as dates. A past day replays exactly: later actions do not change it.",
    response_model=Page[TrackerRow],
    responses={
        **file_content(ExportFormat.csv, ExportFormat.xlsx),
        **problem_responses(401, 403, 406, 422),
    },
)
async def weekly_tracker(
    session: SessionDep,
    _: TrackerReader,
    rules: RulesDep,
    settings: SettingsDep,
    as_at: AsAt,
    page: PageDep,
    chosen: Annotated[ExportFormat, Depends(_FORMAT)],
) -> Any:
    rows = await service.tracker_rows(session, rules, as_at)
    if chosen is ExportFormat.json:
        listed = page.slice(rows)
        audit.touched(child_ids=[row.child.id for row in listed.items])
        return listed
    audit.touched(child_ids=[row.child.id for row in rows])  # a file holds every row
    table = service.tracker_table(rows, settings.themes, as_at)
    return file_response(table, chosen, f"drp-tracker-{as_at}")
