"""Worklists: which disputes need chasing next, most urgent first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from drp_api.deps import (
    Reader,
    RulesDep,
    SettingsDep,
)
from drp_api.worklists import service
from drp_api.worklists.schemas import StageDue
from iro_kit import audit
from iro_kit.dates import AsAt
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.pagination import Page, PageDep

router = APIRouter(prefix="/drp/v1/worklists", tags=["worklists"])


@router.get(
    "/stages-due",
    summary="Stages due soon or overdue",
    description="Disputes open at the end of `as_at` whose current stage is due within "
    "`within` working days (default from settings, 2) or is overdue (from the day after its "
    "due date), most overdue first; for one IRO with `iro_id`. A stage with no deadline "
    "(Cafcass) is never listed.",
    responses=problem_responses(401, 403, 422),
)
async def stages_due(
    session: SessionDep,
    _: Reader,
    rules: RulesDep,
    settings: SettingsDep,
    as_at: AsAt,
    page: PageDep,
    iro_id: Annotated[
        uuid.UUID | None, Query(description="Only disputes raised by this IRO.")
    ] = None,
    within: Annotated[
        int | None, Query(ge=0, le=60, description="Working days ahead of as_at.")
    ] = None,
) -> Page[StageDue]:
    ahead = settings.due_soon_working_days if within is None else within
    listed = page.slice(await service.stages_due(session, rules, as_at, ahead, iro_id))
    audit.touched(child_ids=[item.child.id for item in listed.items])
    return listed
