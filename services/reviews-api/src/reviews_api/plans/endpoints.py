"""Routes for a child's plan dates and annual (OC2) outcomes."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from iro_kit.dates import AsAt
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from reviews_api.children.service import get_child
from reviews_api.deps import (
    Reader,
)
from reviews_api.plans import service
from reviews_api.plans.history import PlanDateFacts, PlanKind, latest_of_each
from reviews_api.plans.schemas import AnnualOutcomeRead, PlanDateRead, PlanDatesRead

router = APIRouter(prefix="/reviews/v1", tags=["plans"])
ERRORS = problem_responses(401, 403, 404, 422)


@router.get(
    "/children/{child_id}/plan-dates",
    summary="A child's plan dates",
    description="The history of the child's care plan updates, PEP reviews, health assessments, "
    "pathway plan updates and leaving care assessments, newest first, as sent by the case "
    "system (history is kept, never overwritten), and the latest of each kind on or before "
    "`as_at` (default today): a care plan or PEP is up to date within 6 months, a health "
    "assessment within 6 months under 5 and 12 months from 5, a pathway plan within 6 months "
    "(DOMAIN.md). Only dates on or before `as_at` are listed.",
    responses=ERRORS,
)
async def list_plan_dates(
    child_id: uuid.UUID,
    session: SessionDep,
    _: Reader,
    as_at: AsAt,
    kind: Annotated[PlanKind | None, Query(description="Only this kind.")] = None,
) -> PlanDatesRead:
    await get_child(session, child_id)
    rows = await service.plan_history(session, child_id, kind, as_at)
    facts = [PlanDateFacts(PlanKind(r.kind), r.dated_on) for r in rows]
    return PlanDatesRead(
        child_id=child_id,
        as_at=as_at,
        latest=latest_of_each(facts, as_at),
        items=[PlanDateRead.model_validate(r) for r in rows],
    )


@router.get(
    "/children/{child_id}/annual-outcomes",
    summary="A child's annual outcomes (SSDA903 OC2)",
    description="One entry per collection year imported from an OC2 file, newest first: the "
    "SDQ score or the reason it is missing, and the yes/no outcomes (health check, "
    "immunisations, teeth check, health assessment, substance misuse, convictions, "
    "interventions) as the DfE codes them.",
    responses=ERRORS,
)
async def list_annual_outcomes(
    child_id: uuid.UUID, session: SessionDep, _: Reader
) -> list[AnnualOutcomeRead]:
    await get_child(session, child_id)
    rows = await service.annual_outcomes(session, child_id)
    return [AnnualOutcomeRead.model_validate(r) for r in rows]
