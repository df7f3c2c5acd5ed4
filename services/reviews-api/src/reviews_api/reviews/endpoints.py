"""Routes for recording reviews and IRO visits."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from iro_kit import audit
from iro_kit.dates import today
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.versioning import IfMatch
from reviews_api.children.schemas import Deletion
from reviews_api.deps import (
    Reader,
    Recorder,
    RulesDep,
)
from reviews_api.models import Review, Visit
from reviews_api.reviews import service, visits
from reviews_api.reviews.schemas import (
    ReviewCreate,
    ReviewRead,
    ReviewUpdate,
    VisitCreate,
    VisitRead,
)
from reviews_api.versions import (
    IF_MATCH_REQUIRED,
    changed_responses,
    created_responses,
    deleted_responses,
    read_responses,
    with_etag,
)

router = APIRouter(prefix="/reviews/v1", tags=["reviews"])
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)

_RECORD_RULES = (
    "A held review needs `participation_code` (PN0 only under 4 on the review date, PN1-PN7 "
    "only from 4). A review held after its due-by date should have a `late_reason`; one "
    "without is stored and stays editable, and is listed on the worklist "
    "`late-reviews-without-reason` until one is recorded (a review that started in time and "
    "concluded late over a series of meetings gets `series_of_meetings`). A `late_reason` on a "
    "review held in timescale is a 422, and `other` needs `late_reason_text`. A review dated "
    "in the future, before the "
    "child's birth or outside every period of care is refused with a 422. The due-by date, "
    "sequence and in-timescale flag are computed by the schedule and stored; every later review "
    "of the child is reassessed when an earlier one is corrected."
)


@router.post(
    "/children/{child_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    summary="Book or record a review",
    description="With `scheduled_for` only, books the next review (one booking at a time). With "
    "`held_on`, records a held review, completing the open booking if there is one. "
    + _RECORD_RULES,
    responses=created_responses("review", WRITE_ERRORS),
)
async def create_review(
    child_id: uuid.UUID,
    body: ReviewCreate,
    session: SessionDep,
    principal: Recorder,
    rules: RulesDep,
    response: Response,
) -> ReviewRead:
    review = await service.create_review(session, child_id, body, rules, principal.subject, today())
    audit.touched(resource_type="review", resource_id=review.id)
    response.headers["Location"] = f"/reviews/v1/reviews/{review.id}"
    with_etag(response, review)
    return ReviewRead.model_validate(review)


@router.get(
    "/children/{child_id}/reviews",
    summary="A child's reviews",
    description="Held reviews by date, then the booked one.",
    responses=READ_ERRORS,
)
async def list_reviews(child_id: uuid.UUID, session: SessionDep, _: Reader) -> list[ReviewRead]:
    return [ReviewRead.model_validate(r) for r in await service.list_reviews(session, child_id)]


@router.get(
    "/reviews/{review_id}",
    summary="Get a review",
    responses=read_responses("review", READ_ERRORS),
)
async def get_review(
    review_id: uuid.UUID, session: SessionDep, _: Reader, response: Response
) -> ReviewRead:
    review = await service.get_review(session, review_id)
    audit.touched(child_ids=[review.child_id])
    with_etag(response, review)
    return ReviewRead.model_validate(review)


@router.patch(
    "/reviews/{review_id}",
    summary="Record or correct a review",
    description="Record a booked review as held (set `held_on`), or correct a record. Needs "
    "`If-Match` with the review's ETag: two officers editing one review cannot overwrite each "
    "other (the second gets a 412 and reads it again). " + _RECORD_RULES,
    responses=changed_responses("review", WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_review(
    review_id: uuid.UUID,
    body: ReviewUpdate,
    session: SessionDep,
    _: Recorder,
    rules: RulesDep,
    if_match: IfMatch,
    response: Response,
) -> ReviewRead:
    review = await service.update_review(session, review_id, body, rules, today(), if_match)
    audit.touched(child_ids=[review.child_id])
    with_etag(response, review)
    return ReviewRead.model_validate(review)


@router.delete(
    "/reviews/{review_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a mistaken review",
    description="Only for a record entered by mistake: who deleted it and why are kept, and the "
    "child's other reviews are reassessed. Needs `If-Match` with the review's ETag.",
    responses=deleted_responses(WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def delete_review(
    review_id: uuid.UUID,
    body: Annotated[Deletion, Body()],
    session: SessionDep,
    principal: Recorder,
    rules: RulesDep,
    if_match: IfMatch,
) -> None:
    await service.delete_review(session, review_id, body.reason, principal.subject, rules, if_match)
    deleted = await session.get(Review, review_id)  # still in the session: no query
    audit.touched(child_ids=[deleted.child_id if deleted else None])


@router.post(
    "/children/{child_id}/visits",
    status_code=status.HTTP_201_CREATED,
    summary="Record an IRO visit or midway review",
    description="`pre_review`: the IRO saw the child before the review (due at least 5 working "
    "days before it). `midway`: the IRO checked progress with the social worker between reviews. "
    "Refused (422) in the future, before birth or outside every period of care.",
    responses=created_responses("visit", WRITE_ERRORS),
)
async def create_visit(
    child_id: uuid.UUID,
    body: VisitCreate,
    session: SessionDep,
    principal: Recorder,
    response: Response,
) -> VisitRead:
    visit = await visits.create_visit(session, child_id, body, principal.subject, today())
    audit.touched(resource_type="visit", resource_id=visit.id)
    response.headers["Location"] = f"/reviews/v1/children/{child_id}/visits"
    with_etag(response, visit)
    return VisitRead.model_validate(visit)


@router.get(
    "/children/{child_id}/visits",
    summary="A child's IRO visits",
    responses=READ_ERRORS,
)
async def list_visits(child_id: uuid.UUID, session: SessionDep, _: Reader) -> list[VisitRead]:
    return [VisitRead.model_validate(v) for v in await visits.list_visits(session, child_id)]


@router.delete(
    "/visits/{visit_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a mistaken visit",
    description="Who deleted it and why are kept. Needs `If-Match` with the visit's ETag.",
    responses=deleted_responses(WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def delete_visit(
    visit_id: uuid.UUID,
    body: Annotated[Deletion, Body()],
    session: SessionDep,
    principal: Recorder,
    if_match: IfMatch,
) -> None:
    await visits.delete_visit(session, visit_id, body.reason, principal.subject, if_match)
    deleted = await session.get(Visit, visit_id)  # still in the session: no query
    audit.touched(child_ids=[deleted.child_id if deleted else None])
