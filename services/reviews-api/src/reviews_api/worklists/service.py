"""Worklists: who needs what next, computed from each child's schedule as at a day.

Candidates are found by query (children looked after on the day, or in a series of short
breaks, optionally one IRO's); their schedules are computed in bulk, filtered and sorted by
urgency. An authority has a few thousand looked after children at most, and an IRO about 60.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.schedule import Schedule, ScheduleRules
from iro_kit.schedule.model import SHORT_BREAK_STATUSES
from reviews_api.casefile import CaseFacts, load_case_facts
from reviews_api.codes import VisitKind
from reviews_api.models import Allocation, Episode, Iro, Visit
from reviews_api.worklists.schemas import (
    ChildSummary,
    IroSummary,
    MidwayDue,
    ReviewDue,
    UnallocatedChild,
    VisitDue,
)

# A series of short breaks stays on the worklists between breaks (rules._short_break_series_lapsed).
_SHORT_BREAK_LOOKBACK = timedelta(days=190)


@dataclass
class Entry:
    casefile: CaseFacts
    schedule: Schedule
    iro: IroSummary | None
    visits: list[Visit]

    @property
    def child(self) -> ChildSummary:
        case = self.casefile
        return ChildSummary(id=case.child_id, external_id=case.external_id, name=case.name)


async def _candidates(
    session: AsyncSession, as_at: date, iro_id: uuid.UUID | None
) -> dict[uuid.UUID, IroSummary | None]:
    """Children to consider on `as_at`, each with the IRO allocated that day: one query."""
    looked_after = or_(Episode.end_on.is_(None), Episode.end_on > as_at)
    short_breaks = Episode.legal_status.in_(SHORT_BREAK_STATUSES) & (
        Episode.end_on >= as_at - _SHORT_BREAK_LOOKBACK
    )
    allocated_that_day = and_(
        Allocation.child_id == Episode.child_id,
        Allocation.from_on <= as_at,
        or_(Allocation.to_on.is_(None), Allocation.to_on >= as_at),
        Allocation.deleted_at.is_(None),
    )
    query = (
        select(Episode.child_id, Iro.id, Iro.name)
        .join(Allocation, allocated_that_day, isouter=iro_id is None)
        .join(Iro, Iro.id == Allocation.iro_id, isouter=iro_id is None)
        .where(Episode.start_on <= as_at, Episode.deleted_at.is_(None), looked_after | short_breaks)
        .distinct()
    )
    if iro_id is not None:
        query = query.where(Allocation.iro_id == iro_id)
    rows = await session.execute(query)
    return {
        child_id: IroSummary(id=found_id, name=name) if found_id else None
        for child_id, found_id, name in rows
    }


async def entries(
    session: AsyncSession,
    rules: ScheduleRules,
    as_at: date,
    iro_id: uuid.UUID | None,
    *,
    with_visits: bool = False,
) -> list[Entry]:
    candidates = await _candidates(session, as_at, iro_id)
    if not candidates:
        return []
    cases = await load_case_facts(session, candidates)
    visits: dict[uuid.UUID, list[Visit]] = {}
    if with_visits:
        for visit in await session.scalars(
            select(Visit).where(
                Visit.child_id.in_(list(candidates)),
                Visit.deleted_at.is_(None),
                Visit.visited_on <= as_at,
            )
        ):
            visits.setdefault(visit.child_id, []).append(visit)
    return [
        Entry(case, case.schedule(rules, as_at), candidates[child_id], visits.get(child_id, []))
        for child_id, case in cases.items()
    ]


def _sorted(items: Iterable[tuple[date, str, object]]) -> list[object]:
    return [item for _, _, item in sorted(items, key=lambda t: (t[0], t[1]))]


def reviews_due(
    found: list[Entry], rules: ScheduleRules, as_at: date, within: int, *, overdue: bool
) -> list[ReviewDue]:
    calendar, rows = rules.calendar, []
    for entry in found:
        next_review = entry.schedule.next_review
        if next_review is None:
            continue
        due = next_review.due_by.value
        left = calendar.working_days_between(as_at, due)
        if overdue != (due < as_at) or (not overdue and left > within):
            continue
        item = ReviewDue(
            child=entry.child,
            iro=entry.iro,
            sequence=next_review.sequence,
            due_by=due,
            last_working_day=next_review.last_working_day.value,
            plan_by=next_review.plan_by.value,
            scheduled_for=next_review.scheduled_for,
            status=entry.schedule.status,
            working_days_left=left,
        )
        rows.append((due, entry.casefile.external_id, item))
    return _sorted(rows)  # type: ignore[return-value]


def unallocated(found: list[Entry], rules: ScheduleRules, as_at: date) -> list[UnallocatedChild]:
    rows = []
    for entry in found:
        schedule = entry.schedule
        if entry.iro is not None or schedule.next_review is None or schedule.period is None:
            continue
        deadline = schedule.allocation_due_by
        assert deadline is not None
        item = UnallocatedChild(
            child=entry.child,
            looked_after_since=schedule.period.start,
            allocation_due_by=deadline.value,
            working_days_left=rules.calendar.working_days_between(as_at, deadline.value),
            overdue=as_at > deadline.value,
        )
        rows.append((deadline.value, entry.casefile.external_id, item))
    return _sorted(rows)  # type: ignore[return-value]


def _has_visit(entry: Entry, kind: VisitKind, since: date) -> bool:
    return any(v.kind == kind.value and v.visited_on >= since for v in entry.visits)


def visits_due(
    found: list[Entry], rules: ScheduleRules, as_at: date, within: int
) -> list[VisitDue]:
    rows = []
    for entry in found:
        next_review = entry.schedule.next_review
        if next_review is None or _has_visit(entry, VisitKind.pre_review, next_review.visit_from):
            continue
        visit_by = next_review.visit_by.value
        left = rules.calendar.working_days_between(as_at, visit_by)
        if left > within:
            continue
        item = VisitDue(
            child=entry.child,
            iro=entry.iro,
            review_due_by=next_review.due_by.value,
            scheduled_for=next_review.scheduled_for,
            visit_from=next_review.visit_from,
            visit_by=visit_by,
            working_days_left=left,
        )
        rows.append((visit_by, entry.casefile.external_id, item))
    return _sorted(rows)  # type: ignore[return-value]


def midway_due(
    found: list[Entry], rules: ScheduleRules, as_at: date, within: int
) -> list[MidwayDue]:
    horizon = rules.calendar.add_working_days(as_at, within)
    rows = []
    for entry in found:
        next_review = entry.schedule.next_review
        if next_review is None or next_review.midway_on is None:
            continue
        midway_on = next_review.midway_on.value
        if midway_on > horizon or _has_visit(entry, VisitKind.midway, next_review.visit_from):
            continue
        item = MidwayDue(
            child=entry.child,
            iro=entry.iro,
            previous_review_on=next_review.visit_from - timedelta(days=1),
            midway_on=midway_on,
            review_due_by=next_review.due_by.value,
        )
        rows.append((midway_on, entry.casefile.external_id, item))
    return _sorted(rows)  # type: ignore[return-value]
