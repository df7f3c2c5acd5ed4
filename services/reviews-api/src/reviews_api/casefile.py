"""A child's case file: the records the schedule is computed from, loaded in bulk.

The schedule module is pure; this is where database rows become its plain inputs.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import id_in
from iro_kit.errors import NotFound
from iro_kit.schedule import (
    EpisodeFacts,
    ExplainedDate,
    PeriodOfCare,
    ReviewFacts,
    Schedule,
    ScheduleRules,
    compute_schedule,
    periods_of_care,
)
from reviews_api.models import Child, Episode, Review


@dataclass
class CaseFile:
    child: Child
    episodes: list[Episode] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)

    def episode_facts(self) -> list[EpisodeFacts]:
        return [
            EpisodeFacts(e.start_on, e.end_on, e.legal_status, e.reason_new_episode)
            for e in self.episodes
        ]

    def review_facts(self) -> list[ReviewFacts]:
        return [
            ReviewFacts(r.held_on, r.series_started_on, r.id)
            for r in self.reviews
            if r.held_on is not None
        ]

    def booked_for(self) -> date | None:
        booked = [r.scheduled_for for r in self.reviews if r.held_on is None and r.scheduled_for]
        return max(booked) if booked else None

    def periods(self) -> list[PeriodOfCare]:
        return periods_of_care(self.episode_facts())

    def schedule(self, rules: ScheduleRules, as_at: date) -> Schedule:
        return compute_schedule(
            self.episode_facts(), self.review_facts(), rules, as_at, self.booked_for()
        )

    def episode_ids_of(self, period: PeriodOfCare) -> list[uuid.UUID]:
        # Matched by start: a period's facts may be truncated to what was known on a past day.
        starts = {facts.start for facts in period.episodes}
        return [e.id for e in self.episodes if e.start_on in starts]


async def lock_children(session: AsyncSession, child_ids: Iterable[uuid.UUID]) -> None:
    """One writer per child: hold each child's row lock until the transaction ends.

    Every write that changes a child's schedule (episodes, reviews, visits, allocations, secure
    placements, the date of birth, an import's chunk) takes it first, then reads the case file
    afresh, so two requests for one child recompute its chain one after the other and the
    stored chain is never computed from a snapshot the other has moved on. Ids are locked in
    order, so two writers of several children cannot deadlock. SQLite needs nothing: its
    writers are serial already (`BEGIN IMMEDIATE`).
    """
    ids = sorted(set(child_ids))
    if not ids or session.get_bind().dialect.name != "postgresql":
        return
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        await session.execute(
            select(Child.id)
            .where(id_in(session, Child.id, chunk))
            .order_by(Child.id)
            .with_for_update()
        )


async def load_casefiles(
    session: AsyncSession, child_ids: Iterable[uuid.UUID], *, for_update: bool = False
) -> dict[uuid.UUID, CaseFile]:
    """The case files of these children. `for_update`: lock the children first (lock_children)
    and read every row afresh, replacing any copy the session already held."""
    ids = list(child_ids)
    if not ids:
        return {}
    if for_update:
        await lock_children(session, ids)
    fresh = {"populate_existing": True} if for_update else {}
    files: dict[uuid.UUID, CaseFile] = {}
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        children = await session.scalars(
            select(Child).where(Child.id.in_(chunk)).execution_options(**fresh)
        )
        for child in children:
            files[child.id] = CaseFile(child)
        episodes: dict[uuid.UUID, list[Episode]] = defaultdict(list)
        for episode in await session.scalars(
            select(Episode)
            .where(Episode.child_id.in_(chunk), Episode.deleted_at.is_(None))
            .order_by(Episode.start_on)
            .execution_options(**fresh)
        ):
            episodes[episode.child_id].append(episode)
        for review in await session.scalars(
            select(Review)
            .where(Review.child_id.in_(chunk), Review.deleted_at.is_(None))
            .execution_options(**fresh)
        ):
            files[review.child_id].reviews.append(review)
        for child_id, child_episodes in episodes.items():
            files[child_id].episodes = child_episodes
    return files


@dataclass(slots=True)
class CaseFacts:
    """What a worklist needs of a child: who they are and the schedule's plain inputs.

    Read with column queries, not ORM objects: worklists read many children per request.
    """

    child_id: uuid.UUID
    external_id: str
    name: str
    episodes: list[EpisodeFacts] = field(default_factory=list)
    reviews: list[ReviewFacts] = field(default_factory=list)
    booked_for: date | None = None

    def schedule(self, rules: ScheduleRules, as_at: date) -> Schedule:
        """The schedule without its held reviews assessed (`Schedule.reviews` is empty)."""
        return compute_schedule(
            self.episodes, self.reviews, rules, as_at, self.booked_for, assess=False
        )


async def load_casefile(
    session: AsyncSession, child_id: uuid.UUID, *, for_update: bool = False
) -> CaseFile:
    files = await load_casefiles(session, [child_id], for_update=for_update)
    if child_id not in files:
        raise NotFound("No child has this id.")
    return files[child_id]


def explained(value: ExplainedDate | None) -> dict[str, object] | None:
    if value is None:
        return None
    return {
        "date": value.value,
        "rule": value.rule,
        "counted_from": value.counted_from,
        "explanation": value.explanation,
    }
