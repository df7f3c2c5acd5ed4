"""Loading the facts each KPI needs as at D, with SQL that narrows them to what counts.

The database filters and aggregates (the children looked after on D, the latest plan of each
kind on or before D, the dues known on D, the latest review and midway visit on or before D);
the formulas (`scorecard_api.kpis.formulas`) decide, in Python, what each fact means. Every
query is bounded by D, so a figure for a past day never sees a fact dated after it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.calendar import WorkingDayCalendar
from scorecard_api.kpis import formulas as f
from scorecard_api.models import (
    allocation,
    child,
    episode,
    iro,
    plan_date,
    review,
    review_due,
    visit,
)

PLAN_KINDS = {
    "care_plan_up_to_date": "care_plan_updated",
    "pep_up_to_date": "pep_reviewed",
    "health_assessment_up_to_date": "health_assessment_completed",
    "pathway_plan_up_to_date": "pathway_plan_updated",
}


@dataclass(frozen=True, slots=True)
class Member:
    """A child in P(D): looked after on D, not on short breaks."""

    child_id: uuid.UUID
    date_of_birth: date
    legal_status: str
    period_start_on: date


def _covering(as_at: date) -> Any:
    """Episodes that cover D: the children looked after on D, with their period's start."""
    return (
        select(episode.c.child_id, episode.c.period_start_on)
        .join(child, child.c.id == episode.c.child_id)
        .where(
            episode.c.start_on <= as_at,
            or_(episode.c.end_on.is_(None), episode.c.end_on > as_at),
        )
        .distinct()
        .subquery("covering")
    )


def _in_current_period(table: Any, covering: Any) -> Any:
    return and_(
        table.c.child_id == covering.c.child_id,
        table.c.period_start_on == covering.c.period_start_on,
    )


class Facts:
    """What the KPIs need as at one day, loaded once and shared by every formula."""

    def __init__(self, session: AsyncSession, window: f.Window, calendar: WorkingDayCalendar):
        self.session = session
        self.window = window
        self.as_at = window.end
        self.calendar = calendar
        self.members: dict[uuid.UUID, Member] = {}
        self._cache: dict[str, Any] = {}

    @classmethod
    async def on(
        cls, session: AsyncSession, window: f.Window, calendar: WorkingDayCalendar
    ) -> Facts:
        """The facts as at the window's end, with the population P(D) loaded."""
        facts = cls(session, window, calendar)
        await facts.load_population()
        return facts

    async def load_population(self) -> None:
        rows = await self.session.execute(
            select(
                episode.c.child_id,
                episode.c.start_on,
                episode.c.legal_status,
                episode.c.period_start_on,
                child.c.date_of_birth,
            )
            .join(child, child.c.id == episode.c.child_id)
            .where(
                episode.c.start_on <= self.as_at,
                or_(episode.c.end_on.is_(None), episode.c.end_on > self.as_at),
            )
            .order_by(episode.c.child_id, episode.c.start_on)
        )
        latest: dict[uuid.UUID, Any] = {}
        for row in rows:  # overlapping episodes are data errors: the latest start wins
            latest[row.child_id] = row
        self.members = {
            c: Member(c, r.date_of_birth, r.legal_status, r.period_start_on)
            for c, r in latest.items()
            if r.legal_status not in f.SHORT_BREAKS
        }

    async def _once(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = await load()
        return self._cache[key]

    # --- loaders ----------------------------------------------------------------------------

    async def current_dues(self) -> dict[uuid.UUID, list[Any]]:
        """Dues of each child's current period known on D: due in the window, the first of the
        period, and the one due after the last review held by D."""

        async def load() -> dict[uuid.UUID, list[Any]]:
            covering = _covering(self.as_at)
            rows = await self.session.execute(
                select(review_due)
                .join(covering, _in_current_period(review_due, covering))
                .where(
                    review_due.c.anchor_on <= self.as_at,
                    or_(
                        review_due.c.due_by >= self.window.start,
                        review_due.c.ordinal == 0,
                        review_due.c.held_on.is_(None),
                        review_due.c.held_on > self.as_at,
                    ),
                )
            )
            by_child: dict[uuid.UUID, list[Any]] = defaultdict(list)
            for row in rows:
                member = self.members.get(row.child_id)
                if member is not None and member.period_start_on == row.period_start_on:
                    by_child[row.child_id].append(row)
            return by_child

        return await self._once("dues", load)

    async def latest_plans(self, kind: str) -> dict[uuid.UUID, date]:
        async def load() -> dict[uuid.UUID, date]:
            covering = _covering(self.as_at)
            rows = await self.session.execute(
                select(plan_date.c.child_id, func.max(plan_date.c.dated_on))
                .join(covering, covering.c.child_id == plan_date.c.child_id)
                .where(plan_date.c.kind == kind, plan_date.c.dated_on <= self.as_at)
                .group_by(plan_date.c.child_id)
            )
            return {c: d for c, d in rows}

        return await self._once(f"plan:{kind}", load)

    async def latest_reviews(self) -> dict[uuid.UUID, f.HeldReview]:
        async def load() -> dict[uuid.UUID, f.HeldReview]:
            covering = _covering(self.as_at)
            latest = (
                select(review.c.child_id, func.max(review.c.held_on).label("held_on"))
                .join(covering, covering.c.child_id == review.c.child_id)
                .where(
                    review.c.held_on <= self.as_at,
                    review.c.held_on >= covering.c.period_start_on,
                )
                .group_by(review.c.child_id)
                .subquery("latest")
            )
            rows = await self.session.execute(
                select(
                    review.c.child_id, review.c.id, review.c.held_on, review.c.participation_code
                )
                .join(
                    latest,
                    and_(
                        latest.c.child_id == review.c.child_id,
                        latest.c.held_on == review.c.held_on,
                    ),
                )
                .order_by(review.c.child_id, review.c.id)
            )
            return {r.child_id: f.HeldReview(r.held_on, r.participation_code, r.id) for r in rows}

        return await self._once("latest_reviews", load)

    async def latest_midway(self) -> dict[uuid.UUID, date]:
        async def load() -> dict[uuid.UUID, date]:
            covering = _covering(self.as_at)
            rows = await self.session.execute(
                select(visit.c.child_id, func.max(visit.c.visited_on))
                .join(covering, covering.c.child_id == visit.c.child_id)
                .where(visit.c.kind == "midway", visit.c.visited_on <= self.as_at)
                .group_by(visit.c.child_id)
            )
            return {c: d for c, d in rows}

        return await self._once("midway", load)

    async def window_dues(self) -> list[f.DueFact]:
        rows = await self.session.execute(
            select(review_due)
            .join(child, child.c.id == review_due.c.child_id)
            .where(review_due.c.due_by.between(self.window.start, self.as_at))
        )
        return [
            f.DueFact(r.due_by, r.held_on, r.child_id, r.review_id, r.status_on_due) for r in rows
        ]

    async def visited_reviews(self) -> list[f.VisitedReview]:
        """Reviews held in the window (in a period's chain, not on short breaks), each with the
        pre-review visits between the previous review and it."""
        held = (
            select(review_due)
            .join(child, child.c.id == review_due.c.child_id)
            .where(
                review_due.c.held_on.between(self.window.start, self.as_at),
                or_(
                    review_due.c.status_on_due.is_(None),
                    review_due.c.status_on_due.not_in(sorted(f.SHORT_BREAKS)),
                ),
            )
            .subquery("held")
        )
        reviews = list(await self.session.execute(select(held)))
        visits = await self.session.execute(
            select(held.c.child_id, held.c.ordinal, held.c.period_start_on, visit.c.visited_on)
            .join(visit, visit.c.child_id == held.c.child_id)
            .where(
                visit.c.kind == "pre_review",
                visit.c.visited_on >= held.c.anchor_on,
                visit.c.visited_on <= held.c.held_on,
            )
        )
        seen: dict[tuple[Any, ...], list[date]] = defaultdict(list)
        for v in visits:
            seen[v.child_id, v.period_start_on, v.ordinal].append(v.visited_on)
        return [
            f.VisitedReview(
                r.child_id,
                r.review_id,
                r.held_on,
                r.anchor_on,
                r.ordinal == 0,
                tuple(seen.get((r.child_id, r.period_start_on, r.ordinal), ())),
            )
            for r in reviews
        ]

    async def pre_review_visits(self) -> list[f.Visit]:
        rows = await self.session.execute(
            select(visit.c.child_id, visit.c.visited_on)
            .join(child, child.c.id == visit.c.child_id)
            .where(
                visit.c.kind == "pre_review",
                visit.c.visited_on.between(self.window.start, self.as_at),
            )
        )
        return [f.Visit(c, d) for c, d in rows]

    # --- figures ----------------------------------------------------------------------------

    async def figure(self, code: str) -> f.Figure:
        compute = getattr(self, f"_{code}")
        result: f.Figure = await compute()
        return result

    async def _reviews_in_timescale(self) -> f.Figure:
        dues = await self.current_dues()
        children = {
            c: [f.DueFact(r.due_by, r.held_on, c, r.review_id) for r in dues.get(c, ())]
            for c in self.members
        }
        return f.reviews_in_timescale(children, self.window, self.calendar)

    async def _reviews_in_timescale_by_review(self) -> f.Figure:
        return f.reviews_in_timescale_by_review(
            await self.window_dues(), self.window, self.calendar
        )

    async def _participation(self) -> f.Figure:
        latest = await self.latest_reviews()
        return f.participation({c: latest.get(c) for c in self.members}, self.as_at)

    async def _care_plan_up_to_date(self) -> f.Figure:
        latest = await self.latest_plans(PLAN_KINDS["care_plan_up_to_date"])
        return f.care_plan_up_to_date({c: latest.get(c) for c in self.members}, self.as_at)

    async def _aged(self, code: str) -> dict[uuid.UUID, f.AgedPlan]:
        latest = await self.latest_plans(PLAN_KINDS[code])
        return {c: f.AgedPlan(m.date_of_birth, latest.get(c)) for c, m in self.members.items()}

    async def _pep_up_to_date(self) -> f.Figure:
        return f.pep_up_to_date(await self._aged("pep_up_to_date"), self.as_at)

    async def _pathway_plan_up_to_date(self) -> f.Figure:
        return f.pathway_plan_up_to_date(await self._aged("pathway_plan_up_to_date"), self.as_at)

    async def _health_assessment_up_to_date(self) -> f.Figure:
        latest = await self.latest_plans(PLAN_KINDS["health_assessment_up_to_date"])
        dues = await self.current_dues()
        firsts = {
            c: next((r.due_by for r in rows if r.ordinal == 0), None) for c, rows in dues.items()
        }
        children = {
            c: f.HealthFacts(m.date_of_birth, firsts.get(c), latest.get(c))
            for c, m in self.members.items()
        }
        return f.health_assessment_up_to_date(children, self.as_at)

    async def _section_20(self) -> f.Figure:
        return f.section_20({c: m.legal_status for c, m in self.members.items()})

    async def _pre_review_visits(self) -> f.Figure:
        return f.pre_review_visits(await self.pre_review_visits(), self.window)

    async def _pre_review_visit_in_time(self) -> f.Figure:
        return f.pre_review_visit_in_time(await self.visited_reviews(), self.window, self.calendar)

    async def _midway_reviews(self) -> f.Figure:
        dues, midway = await self.current_dues(), await self.latest_midway()
        children = {}
        for c in self.members:
            # The review due after the last one held by D: its anchor is that review.
            after_last = [
                r
                for r in dues.get(c, ())
                if r.ordinal > 0 and (r.held_on is None or r.held_on > self.as_at)
            ]
            if after_last:
                r = after_last[0]
                latest = midway.get(c)
                children[c] = f.MidwayFacts(r.anchor_on, r.due_by, (latest,) if latest else ())
        return f.midway_reviews(children, self.as_at)


async def allocated_iros(
    session: AsyncSession, as_at: date, children: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """The IRO allocated to each child on D (an allocation includes its last day)."""
    query = (
        select(allocation.c.child_id, iro.c.id, iro.c.name)
        .join(iro, iro.c.id == allocation.c.iro_id)
        .where(
            allocation.c.start_on <= as_at,
            or_(allocation.c.end_on.is_(None), allocation.c.end_on >= as_at),
        )
        .order_by(allocation.c.child_id, allocation.c.start_on)
    )
    if children is not None:
        query = query.where(allocation.c.child_id.in_(list(children)))
    return {c: (i, n) for c, i, n in await session.execute(query)}
