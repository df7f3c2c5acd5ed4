"""Routes for secure accommodation placements and reviews."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from iro_kit import audit
from iro_kit.dates import AsAt, today
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.versioning import IfMatch
from reviews_api.deps import (
    CaseDataWriter,
    Reader,
    Recorder,
)
from reviews_api.models import SecurePlacement
from reviews_api.secure import service
from reviews_api.secure.schemas import (
    SecurePlacementCreate,
    SecurePlacementRead,
    SecurePlacementUpdate,
    SecureReviewCreate,
    SecureReviewRead,
)
from reviews_api.versions import (
    IF_MATCH_REQUIRED,
    changed_responses,
    created_responses,
    with_etag,
)

router = APIRouter(prefix="/reviews/v1", tags=["secure-accommodation"])
READ_ERRORS = problem_responses(401, 403, 404, 422)
WRITE_ERRORS = problem_responses(401, 403, 404, 409, 422)
_RULE = (
    "Reviews: first within 1 calendar month of the placement, then at most every 3 calendar "
    "months while it lasts (Children (Secure Accommodation) Regulations 1991, reg 15). "
)


@router.post(
    "/children/{child_id}/secure-placements",
    status_code=status.HTTP_201_CREATED,
    summary="Record a placement in secure accommodation",
    description=_RULE,
    responses=created_responses("secure placement", WRITE_ERRORS),
)
async def create_placement(
    child_id: uuid.UUID,
    body: SecurePlacementCreate,
    session: SessionDep,
    _: CaseDataWriter,
    response: Response,
) -> SecurePlacementRead:
    placement = await service.create_placement(session, child_id, body)
    audit.touched(resource_type="secure_placement", resource_id=placement.id)
    response.headers["Location"] = f"/reviews/v1/secure-placements/{placement.id}"
    with_etag(response, placement)
    return SecurePlacementRead.model_validate(
        await service.placement_body(session, placement, today())
    )


@router.get(
    "/children/{child_id}/secure-placements",
    summary="A child's secure placements",
    description="Each with its next review due date as at `as_at`.",
    responses=READ_ERRORS,
)
async def list_placements(
    child_id: uuid.UUID, session: SessionDep, _: Reader, as_at: AsAt
) -> list[SecurePlacementRead]:
    placements = await service.placements_of(session, child_id)
    return [
        SecurePlacementRead.model_validate(await service.placement_body(session, p, as_at))
        for p in placements
    ]


@router.patch(
    "/secure-placements/{placement_id}",
    summary="End or correct a secure placement",
    description="Needs `If-Match` with the placement's ETag.",
    responses=changed_responses("secure placement", WRITE_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_placement(
    placement_id: uuid.UUID,
    body: SecurePlacementUpdate,
    session: SessionDep,
    _: CaseDataWriter,
    if_match: IfMatch,
    response: Response,
) -> SecurePlacementRead:
    placement = await service.update_placement(session, placement_id, body, if_match)
    audit.touched(child_ids=[placement.child_id])
    with_etag(response, placement)
    return SecurePlacementRead.model_validate(
        await service.placement_body(session, placement, today())
    )


@router.post(
    "/secure-placements/{placement_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    summary="Record a secure accommodation review",
    description=_RULE
    + "The panel has at least three people, at least one neither a member nor an officer of "
    "the authority; otherwise 422.",
    responses=created_responses("secure review", WRITE_ERRORS),
)
async def record_review(
    placement_id: uuid.UUID,
    body: SecureReviewCreate,
    session: SessionDep,
    principal: Recorder,
    response: Response,
) -> SecureReviewRead:
    review = await service.record_review(session, placement_id, body, principal.subject, today())
    await _name_child_of(session, placement_id)
    response.headers["Location"] = f"/reviews/v1/secure-placements/{placement_id}/reviews"
    with_etag(response, review)
    return SecureReviewRead.model_validate(review)


@router.get(
    "/secure-placements/{placement_id}/reviews",
    summary="A secure placement's reviews",
    responses=READ_ERRORS,
)
async def list_reviews(
    placement_id: uuid.UUID, session: SessionDep, _: Reader
) -> list[SecureReviewRead]:
    reviews = await service.list_reviews(session, placement_id)
    await _name_child_of(session, placement_id)
    return [SecureReviewRead.model_validate(r) for r in reviews]


async def _name_child_of(session: SessionDep, placement_id: uuid.UUID) -> None:
    placement = await session.get(SecurePlacement, placement_id)
    audit.touched(child_ids=[placement.child_id if placement else None])
