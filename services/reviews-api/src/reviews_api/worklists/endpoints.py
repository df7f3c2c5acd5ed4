"""Worklists: reviews due, overdue, unallocated children, visits and midway reviews due."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query

from iro_kit import audit
from iro_kit.dates import AsAt
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.pagination import Page, PageDep
from reviews_api.deps import (
    Reader,
    RulesDep,
)
from reviews_api.worklists import service
from reviews_api.worklists.schemas import (
    LateReviewWithoutReason,
    MidwayDue,
    ReviewDue,
    UnallocatedChild,
    VisitDue,
)

router = APIRouter(prefix="/reviews/v1/worklists", tags=["worklists"])
ERRORS = problem_responses(401, 403, 422)

IroFilter = Annotated[
    uuid.UUID | None, Query(description="Only children allocated to this IRO on as_at.")
]
Within = Annotated[
    int, Query(ge=0, le=130, description="Working days ahead of as_at (default 20).")
]


@router.get(
    "/reviews-due",
    summary="Reviews due soon",
    description="Children whose next review is due within `within` working days of `as_at` "
    "and not yet late, soonest first.",
    responses=ERRORS,
)
async def reviews_due(
    session: SessionDep,
    _: Reader,
    rules: RulesDep,
    as_at: AsAt,
    page: PageDep,
    iro_id: IroFilter = None,
    within: Within = 20,
) -> Page[ReviewDue]:
    build = partial(service.reviews_due, rules=rules, as_at=as_at, within=within, overdue=False)
    listed = await service.worklist(session, rules, as_at, iro_id, build, page)
    return _named(listed)


@router.get(
    "/overdue-reviews",
    summary="Overdue reviews",
    description="Children whose next review was due before `as_at` and has not been held, most "
    "overdue first (overdue from the day after the due date).",
    responses=ERRORS,
)
async def overdue_reviews(
    session: SessionDep,
    _: Reader,
    rules: RulesDep,
    as_at: AsAt,
    page: PageDep,
    iro_id: IroFilter = None,
) -> Page[ReviewDue]:
    build = partial(service.reviews_due, rules=rules, as_at=as_at, within=0, overdue=True)
    listed = await service.worklist(session, rules, as_at, iro_id, build, page)
    return _named(listed)


@router.get(
    "/unallocated-children",
    summary="Looked after children with no IRO",
    description="Children looked after on `as_at` with no IRO allocated, by the deadline for "
    "allocating one (5 working days after becoming looked after).",
    responses=ERRORS,
)
async def unallocated_children(
    session: SessionDep, _: Reader, rules: RulesDep, as_at: AsAt, page: PageDep
) -> Page[UnallocatedChild]:
    build = partial(service.unallocated, rules=rules, as_at=as_at)
    listed = await service.worklist(session, rules, as_at, None, build, page)
    return _named(listed)


@router.get(
    "/pre-review-visits",
    summary="Pre-review visits due",
    description="Children whose IRO has not seen them since the previous review and whose visit "
    "deadline (5 working days before the booked review, or the due date) is within `within` "
    "working days of `as_at` or has passed, by deadline.",
    responses=ERRORS,
)
async def pre_review_visits(
    session: SessionDep,
    _: Reader,
    rules: RulesDep,
    as_at: AsAt,
    page: PageDep,
    iro_id: IroFilter = None,
    within: Within = 20,
) -> Page[VisitDue]:
    build = partial(service.visits_due, rules=rules, as_at=as_at, within=within)
    listed = await service.worklist(session, rules, as_at, iro_id, build, page, with_visits=True)
    return _named(listed)


@router.get(
    "/midway-reviews",
    summary="Midway reviews due",
    description="Children whose midway point (halfway from the previous review to the next due "
    "date) falls within `within` working days of `as_at` or has passed, with no midway review "
    "since the previous review.",
    responses=ERRORS,
)
async def midway_reviews(
    session: SessionDep,
    _: Reader,
    rules: RulesDep,
    as_at: AsAt,
    page: PageDep,
    iro_id: IroFilter = None,
    within: Within = 20,
) -> Page[MidwayDue]:
    build = partial(service.midway_due, rules=rules, as_at=as_at, within=within)
    listed = await service.worklist(session, rules, as_at, iro_id, build, page, with_visits=True)
    return _named(listed)


@router.get(
    "/late-reviews-without-reason",
    summary="Late reviews with no recorded reason",
    description="Data quality: held reviews that were late (held after their due-by date) and "
    "have no late reason recorded, oldest first, each with its `version` for the `If-Match` "
    "of the PATCH that records one (the review then leaves the list). An SSDA903 return "
    "carries no reasons, so imported late reviews start here; the late-reasons table counts "
    'them as "not recorded" until then. `iro_id`: only reviews held while the child was '
    "allocated to this IRO.",
    responses=ERRORS,
)
async def late_reviews_without_reason(
    session: SessionDep,
    _: Reader,
    page: PageDep,
    iro_id: Annotated[
        uuid.UUID | None,
        Query(description="Only reviews held while the child was allocated to this IRO."),
    ] = None,
) -> Page[LateReviewWithoutReason]:
    return _named(await service.late_reviews_without_reason(session, page, iro_id))


_Listed = TypeVar("_Listed", bound=Page[Any])


def _named(listed: _Listed) -> _Listed:
    """A worklist page names its children: it is recorded in the audit trail."""
    audit.touched(child_ids=[item.child.id for item in listed.items])
    return listed
