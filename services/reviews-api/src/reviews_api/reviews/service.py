"""Recording reviews: booked, held, corrected or deleted, always reassessed as a chain."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.errors import NotFound, invalid
from iro_kit.schedule import ReviewFacts, ScheduleRules, add_months, assess_reviews
from iro_kit.schedule.model import MonthRule
from iro_kit.versioning import Precondition, claim_version
from reviews_api.casefile import CaseFile, load_casefile
from reviews_api.codes import LateReason
from reviews_api.models import Review
from reviews_api.problems import AlreadyBooked, AlreadyRecorded
from reviews_api.reviews.chain import reassess_reviews
from reviews_api.reviews.schemas import ReviewCreate, ReviewUpdate


def fourth_birthday(date_of_birth: date) -> date:
    return add_months(date_of_birth, 48, MonthRule.calendar)


def check_participation(code: str, date_of_birth: date, held_on: date) -> None:
    birthday = fourth_birthday(date_of_birth)
    if code == "PN0" and held_on > birthday:
        raise invalid("/participation_code", "PN0 is only for a child under 4 on the review date")
    if code != "PN0" and held_on < birthday:
        raise invalid(
            "/participation_code", f"{code} is for a child aged 4 or over; this child was under 4"
        )


def check_in_care(casefile: CaseFile, day: date, pointer: str, today: date) -> None:
    if day > today:
        raise invalid(pointer, "is in the future")
    if day < casefile.child.date_of_birth:
        raise invalid(pointer, "is before the child's date of birth")
    if not any(p.start <= day and (p.end is None or day <= p.end) for p in casefile.periods()):
        raise invalid(
            pointer, "is outside every period of care of the child", slug="outside-period-of-care"
        )


def _check_held(casefile: CaseFile, review: Review, rules: ScheduleRules, today: date) -> None:
    held_on = review.held_on
    assert held_on is not None
    check_in_care(casefile, held_on, "/held_on", today)
    if review.series_started_on and review.series_started_on > held_on:
        raise invalid("/series_started_on", "must be on or before held_on")
    if review.participation_code is None:
        raise invalid("/participation_code", "is required for a held review")
    check_participation(review.participation_code, casefile.child.date_of_birth, held_on)
    facts = [f for f in casefile.review_facts() if f.key != review.id]
    facts.append(ReviewFacts(held_on, review.series_started_on, review.id))
    period = next(
        p for p in casefile.periods() if p.start <= held_on and (p.end is None or held_on <= p.end)
    )
    assessed = next(a for a in assess_reviews(period, facts, rules) if a.review.key == review.id)
    if assessed.in_timescale:
        if review.late_reason is not None:
            raise invalid(
                "/late_reason",
                f"must be empty: the review was held in timescale (due by {assessed.due_by.value})",
            )
        return
    if review.late_reason is None and assessed.late_because_of_series:
        review.late_reason = LateReason.series_of_meetings.value
    # A late review with no reason is stored and stays editable (an SSDA903 return carries
    # none): it is on the worklist late-reviews-without-reason until one is recorded, and the
    # late-reasons table counts it as "not recorded".
    if review.late_reason == LateReason.other.value and not review.late_reason_text:
        raise invalid("/late_reason_text", "is required when the late reason is other")


def _apply(review: Review, fields: dict[str, Any]) -> None:
    for name, value in fields.items():
        setattr(review, name, value.value if hasattr(value, "value") else value)


async def create_review(
    session: AsyncSession,
    child_id: uuid.UUID,
    body: ReviewCreate,
    rules: ScheduleRules,
    by: str,
    today: date,
) -> Review:
    casefile = await load_casefile(session, child_id, for_update=True)
    if body.held_on is None and body.scheduled_for is None:
        raise invalid("/held_on", "a review needs held_on (held) or scheduled_for (booked)")
    booked = [r for r in casefile.reviews if r.held_on is None]
    if body.held_on is None and booked:
        raise AlreadyBooked(
            "A review is already booked for this child; change that booking instead.",
            extra={"booked_review_id": str(booked[0].id)},
        )
    # Recording a held review completes the child's open booking, if there is one.
    review = booked[0] if body.held_on is not None and booked else None
    if body.held_on is not None:
        _refuse_second_on_the_day(casefile, body.held_on, review.id if review else None)
    if review is None:
        review = Review(id=uuid.uuid4(), child_id=child_id, created_by=by)
        session.add(review)
        casefile.reviews.append(review)
    else:
        review.version += 1  # the booking is now a held review: its ETag as read is stale
    _apply(review, body.model_dump(exclude_unset=True))
    await _validate_and_reassess(session, casefile, review, rules, today)
    return review


def _refuse_second_on_the_day(
    casefile: CaseFile, held_on: date, review_id: uuid.UUID | None
) -> None:
    """A child has at most one review held on a day: a second is a double submit, never a
    second review that would count as the next in the chain and move its due date."""
    for other in casefile.reviews:
        if other.held_on == held_on and other.id != review_id:
            raise AlreadyRecorded(
                f"A review held on {held_on} is already recorded for this child; change that "
                "review instead (or resend with the same Idempotency-Key to get the first "
                "response again).",
                extra={"existing_review_id": str(other.id)},
            )


async def _validate_and_reassess(
    session: AsyncSession, casefile: CaseFile, review: Review, rules: ScheduleRules, today: date
) -> None:
    if review.held_on is not None:
        _check_held(casefile, review, rules, today)
    elif review.scheduled_for is not None and review.scheduled_for < casefile.child.date_of_birth:
        raise invalid("/scheduled_for", "is before the child's date of birth")
    await session.flush()
    await reassess_reviews(session, casefile, rules)


async def get_review(session: AsyncSession, review_id: uuid.UUID) -> Review:
    review = await session.get(Review, review_id)
    if review is None or review.deleted_at is not None:
        raise NotFound("No review has this id.")
    return review


async def update_review(
    session: AsyncSession,
    review_id: uuid.UUID,
    body: ReviewUpdate,
    rules: ScheduleRules,
    today: date,
    if_match: Precondition,
) -> Review:
    casefile = await _casefile_of_review(session, review_id)
    review = next(r for r in casefile.reviews if r.id == review_id)
    await claim_version(session, review, if_match)
    changes = body.model_dump(exclude_unset=True)
    _apply(review, changes)
    if review.held_on is not None:
        _refuse_second_on_the_day(casefile, review.held_on, review.id)
    if review.held_on is None and review.scheduled_for is None:
        raise invalid("/held_on", "a review needs held_on (held) or scheduled_for (booked)")
    await _validate_and_reassess(session, casefile, review, rules, today)
    return review


async def delete_review(
    session: AsyncSession,
    review_id: uuid.UUID,
    reason: str,
    by: str,
    rules: ScheduleRules,
    if_match: Precondition,
) -> None:
    casefile = await _casefile_of_review(session, review_id)
    review = next(r for r in casefile.reviews if r.id == review_id)
    await claim_version(session, review, if_match)
    review.deleted_at, review.deleted_by, review.deletion_reason = datetime.now(UTC), by, reason
    await session.flush()
    casefile.reviews.remove(review)
    await reassess_reviews(session, casefile, rules)


async def _casefile_of_review(session: AsyncSession, review_id: uuid.UUID) -> CaseFile:
    """The review's child's case file, locked (one writer per child) and read afresh; 404 if
    the review is unknown or was deleted, also by a request that held the lock before us."""
    review = await get_review(session, review_id)
    casefile = await load_casefile(session, review.child_id, for_update=True)
    if not any(r.id == review_id for r in casefile.reviews):
        raise NotFound("No review has this id.")
    return casefile


async def list_reviews(session: AsyncSession, child_id: uuid.UUID) -> list[Review]:
    await load_casefile(session, child_id)  # 404 for an unknown child
    rows = await session.scalars(
        select(Review)
        .where(Review.child_id == child_id, Review.deleted_at.is_(None))
        .order_by(Review.held_on.is_(None), Review.held_on, Review.scheduled_for)
    )
    return list(rows)
