"""Children, their episodes and periods of care: case data from the case system."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.errors import Conflict, NotFound, invalid
from iro_kit.pagination import PageRequest
from iro_kit.schedule import Schedule, ScheduleRules
from iro_kit.versioning import Precondition, claim_version
from reviews_api.casefile import CaseFile, explained, load_casefile
from reviews_api.children.schemas import (
    ChildCreate,
    ChildUpdate,
    EpisodeCreate,
    EpisodeUpdate,
)
from reviews_api.models import Allocation, Child, Episode
from reviews_api.problems import AlreadyRecorded, EpisodesOverlap
from reviews_api.ranges import EPISODE, as_columns
from reviews_api.reviews.chain import reassess_reviews


async def get_child(session: AsyncSession, child_id: uuid.UUID) -> Child:
    child = await session.get(Child, child_id)
    if child is None:
        raise NotFound("No child has this id.")
    return child


async def create_child(session: AsyncSession, body: ChildCreate) -> Child:
    existing = await session.scalar(select(Child.id).where(Child.external_id == body.external_id))
    if existing is not None:
        raise AlreadyRecorded(
            "A child with this external_id already exists.", extra={"existing_id": str(existing)}
        )
    child = Child(**body.model_dump())
    session.add(child)
    await session.flush()
    return child


async def update_child(
    session: AsyncSession, child_id: uuid.UUID, body: ChildUpdate, if_match: Precondition
) -> Child:
    casefile = await load_casefile(session, child_id, for_update=True)
    child = casefile.child
    await claim_version(session, child, if_match)
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise invalid(f"/{name}", "cannot be null")
    born = changes.get("date_of_birth")
    recorded = [e.start_on for e in casefile.episodes] + [
        r.held_on for r in casefile.reviews if r.held_on is not None
    ]
    if born is not None and recorded and born > min(recorded):
        raise invalid(
            "/date_of_birth", f"is after the child's first recorded date, {min(recorded)}"
        )
    for name, value in changes.items():
        setattr(child, name, value)
    await session.flush()
    return child


async def list_children(
    session: AsyncSession,
    page: PageRequest,
    *,
    external_id: str | None,
    iro_id: uuid.UUID | None,
) -> tuple[list[Child], bool, int | None]:
    query = select(Child)
    if external_id is not None:
        query = query.where(Child.external_id == external_id)
    if iro_id is not None:
        current = select(Allocation.child_id).where(
            Allocation.iro_id == iro_id, Allocation.to_on.is_(None), Allocation.deleted_at.is_(None)
        )
        query = query.where(Child.id.in_(current))
    total = None
    if page.count:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(
        await session.scalars(
            query.order_by(Child.family_name, Child.given_name, Child.id)
            .offset(page.offset)
            .limit(page.limit + 1)
        )
    )
    return rows[: page.limit], len(rows) > page.limit, total


def _check_episode(child: Child, start_on: object, end_on: object) -> None:
    if end_on is not None and end_on < start_on:  # type: ignore[operator]
        raise invalid("/end_on", "must be on or after start_on")
    if start_on < child.date_of_birth:  # type: ignore[operator]
        raise invalid("/start_on", "is before the child's date of birth")


def _check_no_overlap(casefile: CaseFile, episode: Episode) -> None:
    end = episode.end_on
    for other in casefile.episodes:
        if other.id == episode.id:
            continue
        other_end = other.end_on
        starts_before_other_ends = other_end is None or episode.start_on < other_end
        ends_after_other_starts = end is None or end > other.start_on
        if starts_before_other_ends and ends_after_other_starts:
            raise EpisodesOverlap(
                "This episode overlaps another episode of the child.",
                extra={"overlapping_episode_id": str(other.id)},
            )


async def add_episode(
    session: AsyncSession, child_id: uuid.UUID, body: EpisodeCreate, rules: ScheduleRules
) -> Episode:
    casefile = await load_casefile(session, child_id, for_update=True)
    _check_episode(casefile.child, body.start_on, body.end_on)
    if body.external_id is not None:
        clash = await session.scalar(
            select(Episode.id).where(Episode.external_id == body.external_id)
        )
        if clash is not None:
            raise Conflict("An episode with this external_id already exists.")
    episode = Episode(id=uuid.uuid4(), child_id=child_id, **as_columns(body.model_dump(), EPISODE))
    _check_no_overlap(casefile, episode)
    session.add(episode)
    casefile.episodes.append(episode)
    await session.flush()
    await reassess_reviews(session, casefile, rules)
    return episode


async def get_episode(session: AsyncSession, episode_id: uuid.UUID) -> Episode:
    episode = await session.get(Episode, episode_id)
    if episode is None or episode.deleted_at is not None:
        raise NotFound("No episode has this id.")
    return episode


async def update_episode(
    session: AsyncSession,
    episode_id: uuid.UUID,
    body: EpisodeUpdate,
    rules: ScheduleRules,
    if_match: Precondition,
) -> Episode:
    casefile, episode = await _episode_for_update(session, episode_id)
    await claim_version(session, episode, if_match)
    changes = body.model_dump(exclude_unset=True)
    for name in ("start_on", "reason_new_episode", "legal_status"):
        if name in changes and changes[name] is None:
            raise invalid(f"/{name}", "cannot be null")
    for name, value in as_columns(changes, EPISODE).items():
        setattr(episode, name, value)
    _check_episode(casefile.child, episode.start_on, episode.end_on)
    _check_no_overlap(casefile, episode)
    await session.flush()
    await reassess_reviews(session, casefile, rules)
    return episode


async def delete_episode(
    session: AsyncSession,
    episode_id: uuid.UUID,
    reason: str,
    by: str,
    rules: ScheduleRules,
    if_match: Precondition,
) -> None:
    casefile, episode = await _episode_for_update(session, episode_id)
    await claim_version(session, episode, if_match)
    episode.deleted_at, episode.deleted_by, episode.deletion_reason = datetime.now(UTC), by, reason
    await session.flush()
    casefile.episodes.remove(episode)
    await reassess_reviews(session, casefile, rules)


async def _episode_for_update(
    session: AsyncSession, episode_id: uuid.UUID
) -> tuple[CaseFile, Episode]:
    """The episode and its child's case file, locked (one writer per child) and read afresh;
    404 if it is unknown or was deleted, also by a request that held the lock before us."""
    episode = await get_episode(session, episode_id)
    casefile = await load_casefile(session, episode.child_id, for_update=True)
    for candidate in casefile.episodes:
        if candidate.id == episode_id:
            return casefile, candidate
    raise NotFound("No episode has this id.")


def schedule_body(
    casefile: CaseFile, schedule: Schedule, rules: ScheduleRules
) -> dict[str, object]:
    period = schedule.period
    next_review = schedule.next_review
    return {
        "child_id": casefile.child.id,
        "as_at": schedule.as_at,
        "status": schedule.status,
        "month_rule": rules.month_rule.value,
        "looked_after": next_review is not None,
        "period_of_care": None
        if period is None
        else {
            "start_on": period.start,
            "end_on": period.end,
            "clock": period.clock,
            "legal_status": period.legal_status,
            "episode_ids": casefile.episode_ids_of(period),
        },
        "allocation_due_by": explained(schedule.allocation_due_by),
        "next_review": None
        if next_review is None
        else {
            "sequence": next_review.sequence,
            "due_by": explained(next_review.due_by),
            "last_working_day": explained(next_review.last_working_day),
            "plan_by": explained(next_review.plan_by),
            "scheduled_for": next_review.scheduled_for,
            "visit_from": next_review.visit_from,
            "visit_by": explained(next_review.visit_by),
            "midway_on": explained(next_review.midway_on),
        },
        "reviews": [
            {
                "review_id": assessed.review.key,
                "held_on": assessed.review.held_on,
                "sequence": assessed.sequence,
                "due_by": explained(assessed.due_by),
                "in_timescale": assessed.in_timescale,
                "days_late": assessed.days_late,
            }
            for assessed in schedule.reviews
        ],
    }
