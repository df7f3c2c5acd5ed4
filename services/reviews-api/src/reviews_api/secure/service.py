"""Secure accommodation placements and their review panels."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.errors import NotFound, invalid
from iro_kit.schedule.secure import assess_secure_reviews, next_secure_review
from iro_kit.versioning import Precondition, claim_version
from reviews_api.casefile import explained, lock_children
from reviews_api.models import Child, SecurePlacement, SecureReview
from reviews_api.ranges import SECURE_PLACEMENT, as_columns
from reviews_api.secure.schemas import (
    SecurePlacementCreate,
    SecurePlacementUpdate,
    SecureReviewCreate,
)

MIN_PANEL = 3


async def get_placement(session: AsyncSession, placement_id: uuid.UUID) -> SecurePlacement:
    placement = await session.get(SecurePlacement, placement_id)
    if placement is None or placement.deleted_at is not None:
        raise NotFound("No secure placement has this id.")
    return placement


def _check_dates(placement: SecurePlacement, child: Child) -> None:
    if placement.started_on < child.date_of_birth:
        raise invalid("/start_on", "is before the child's date of birth")
    if placement.ended_on is not None and placement.ended_on < placement.started_on:
        raise invalid("/end_on", "must be on or after start_on")


async def create_placement(
    session: AsyncSession, child_id: uuid.UUID, body: SecurePlacementCreate
) -> SecurePlacement:
    child = await session.get(Child, child_id)
    if child is None:
        raise NotFound("No child has this id.")
    await lock_children(session, [child_id])
    placement = SecurePlacement(
        child_id=child_id, **as_columns(body.model_dump(), SECURE_PLACEMENT)
    )
    _check_dates(placement, child)
    session.add(placement)
    await session.flush()
    return placement


async def _placement_for_update(session: AsyncSession, placement_id: uuid.UUID) -> SecurePlacement:
    """The placement, its child locked (one writer per child) and the row read afresh."""
    placement = await get_placement(session, placement_id)
    await lock_children(session, [placement.child_id])
    await session.refresh(placement)
    if placement.deleted_at is not None:
        raise NotFound("No secure placement has this id.")
    return placement


async def update_placement(
    session: AsyncSession,
    placement_id: uuid.UUID,
    body: SecurePlacementUpdate,
    if_match: Precondition,
) -> SecurePlacement:
    placement = await _placement_for_update(session, placement_id)
    await claim_version(session, placement, if_match)
    changes = body.model_dump(exclude_unset=True)
    if "start_on" in changes and changes["start_on"] is None:
        raise invalid("/start_on", "cannot be null")
    # Loaded before the changes: a query after them would autoflush dates that break the
    # table's CHECK constraint, a 409 instead of the 422 below.
    child = await session.get(Child, placement.child_id)
    assert child is not None
    for name, value in as_columns(changes, SECURE_PLACEMENT).items():
        setattr(placement, name, value)
    _check_dates(placement, child)
    await _reassess(session, placement)
    return placement


async def _reviews(session: AsyncSession, placement_id: uuid.UUID) -> list[SecureReview]:
    return list(
        await session.scalars(
            select(SecureReview)
            .where(SecureReview.placement_id == placement_id, SecureReview.deleted_at.is_(None))
            .order_by(SecureReview.held_on)
            .execution_options(populate_existing=True)
        )
    )


async def _reassess(session: AsyncSession, placement: SecurePlacement) -> None:
    reviews = await _reviews(session, placement.id)
    for review, assessed in zip(
        reviews,
        assess_secure_reviews(placement.started_on, [r.held_on for r in reviews]),
        strict=True,
    ):
        review.due_by, review.in_timescale = assessed.due_by.value, assessed.in_timescale
    await session.flush()


async def record_review(
    session: AsyncSession, placement_id: uuid.UUID, body: SecureReviewCreate, by: str, today: date
) -> SecureReview:
    placement = await _placement_for_update(session, placement_id)
    if len(body.panel) < MIN_PANEL:
        raise invalid("/panel", f"needs at least {MIN_PANEL} people; {len(body.panel)} given")
    if not any(member.independent for member in body.panel):
        raise invalid(
            "/panel", "needs at least one member who is neither a member nor an officer of the LA"
        )
    if body.held_on > today:
        raise invalid("/held_on", "is in the future")
    if body.held_on < placement.started_on or (
        placement.ended_on is not None and body.held_on > placement.ended_on
    ):
        raise invalid("/held_on", "is outside the secure placement")
    review = SecureReview(
        placement_id=placement_id,
        held_on=body.held_on,
        panel=[m.model_dump() for m in body.panel],
        notes=body.notes,
        due_by=body.held_on,  # replaced by the assessment below
        in_timescale=True,
        created_by=by,
    )
    session.add(review)
    await session.flush()
    await _reassess(session, placement)
    return review


async def list_reviews(session: AsyncSession, placement_id: uuid.UUID) -> list[SecureReview]:
    await get_placement(session, placement_id)
    return await _reviews(session, placement_id)


async def placements_of(session: AsyncSession, child_id: uuid.UUID) -> list[SecurePlacement]:
    if await session.get(Child, child_id) is None:
        raise NotFound("No child has this id.")
    return list(
        await session.scalars(
            select(SecurePlacement)
            .where(SecurePlacement.child_id == child_id, SecurePlacement.deleted_at.is_(None))
            .order_by(SecurePlacement.started_on)
        )
    )


async def placement_body(
    session: AsyncSession, placement: SecurePlacement, as_at: date
) -> dict[str, object]:
    held = [r.held_on for r in await _reviews(session, placement.id)]
    ended = placement.ended_on if placement.ended_on and placement.ended_on <= as_at else None
    due = None
    if placement.started_on <= as_at:
        due = next_secure_review(placement.started_on, ended, held, as_at)
    return {
        "id": placement.id,
        "child_id": placement.child_id,
        "start_on": placement.started_on,
        "end_on": placement.ended_on,
        "version": placement.version,
        "next_review_due_by": explained(due),
    }
