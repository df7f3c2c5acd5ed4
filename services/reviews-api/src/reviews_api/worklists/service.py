"""Worklists: who needs what next, computed from each child's schedule as at a day.

Candidates are found by query (children looked after on the day, or in a series of short
breaks, optionally one IRO's); their schedules are computed in bulk, filtered and sorted by
urgency. An authority has a few thousand looked after children at most, and an IRO about 60.
"""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from anyio import to_thread
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.dates import shift
from iro_kit.pagination import Page, PageRequest
from iro_kit.schedule import ReviewSequence, Schedule, ScheduleRules
from iro_kit.schedule.model import SHORT_BREAK_STATUSES
from reviews_api.casefile import CaseFacts, load_case_facts
from reviews_api.codes import VisitKind
from reviews_api.models import Allocation, Child, Episode, Iro, Review, Visit, display_name
from reviews_api.worklists.schemas import (
    ChildSummary,
    IroSummary,
    LateReviewWithoutReason,
    MidwayDue,
    ReviewDue,
    UnallocatedChild,
    VisitDue,
)

_T = TypeVar("_T")
# Children read per step: each step holds the event loop for a few milliseconds only.
_CHUNK = 500

# A series of short breaks stays on the worklists between breaks (rules._short_break_series_lapsed).
_SHORT_BREAK_LOOKBACK_DAYS = 190


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
        Episode.end_on >= shift(as_at, -_SHORT_BREAK_LOOKBACK_DAYS)
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
    found: dict[uuid.UUID, IroSummary | None] = {}
    # Streamed in bounded partitions: turning rows into values is CPU work on the event loop,
    # and a whole authority has thousands of children.
    result = await session.stream(query)
    async for partition in result.partitions(_CHUNK):
        for child_id, found_id, name in partition:
            found[child_id] = IroSummary(id=found_id, name=name) if found_id else None
    return found


_Inputs = tuple[
    dict[uuid.UUID, IroSummary | None], dict[uuid.UUID, CaseFacts], dict[uuid.UUID, list[Visit]]
]


async def _inputs(
    session: AsyncSession, as_at: date, iro_id: uuid.UUID | None, *, with_visits: bool
) -> _Inputs:
    """The children to consider with their IROs, case facts and (if asked) visits."""
    candidates = await _candidates(session, as_at, iro_id)
    ids = list(candidates)
    cases: dict[uuid.UUID, CaseFacts] = {}
    for start in range(0, len(ids), _CHUNK):  # bounded work on the event loop per step
        cases.update(await load_case_facts(session, ids[start : start + _CHUNK]))
    visits: dict[uuid.UUID, list[Visit]] = {}
    if with_visits and ids:
        for visit in await session.scalars(
            select(Visit).where(
                Visit.child_id.in_(ids),
                Visit.deleted_at.is_(None),
                Visit.visited_on <= as_at,
            )
        ):
            visits.setdefault(visit.child_id, []).append(visit)
    return candidates, cases, visits


def _entries(inputs: _Inputs, rules: ScheduleRules, as_at: date) -> list[Entry]:
    candidates, cases, visits = inputs
    return [
        Entry(case, case.schedule(rules, as_at), candidates[child_id], visits.get(child_id, []))
        for child_id, case in cases.items()
    ]


async def entries(
    session: AsyncSession,
    rules: ScheduleRules,
    as_at: date,
    iro_id: uuid.UUID | None,
    *,
    with_visits: bool = False,
) -> list[Entry]:
    """Each child to consider with their schedule on `as_at` (computed off the event loop)."""
    inputs = await _inputs(session, as_at, iro_id, with_visits=with_visits)
    return await to_thread.run_sync(_entries, inputs, rules, as_at)


_pauses = 0
_paused_since = 0.0
_LONGEST_PAUSE = 30.0  # seconds


@contextmanager
def _collection_paused() -> Iterator[None]:
    """No automatic cyclic garbage collection while a worklist is built.

    A whole authority's worklist holds some hundreds of thousands of objects for a second or
    so; a full collection would scan them all several times, holding the GIL (and so the event
    loop) for 100 ms or more each time. Nearly all of them are freed by reference counting when
    the request ends, so nothing is lost by pausing; the collector resumes when the last
    worklist in progress is done. Only the event loop's thread enters and leaves this.

    Worklists that overlap without end (readers polling) would keep the collector off for
    good, and cyclic garbage from every other request would pile up: so once the pause has
    lasted `_LONGEST_PAUSE` seconds, the next worklist to start collects once before it runs.
    """
    global _pauses, _paused_since
    _pauses += 1
    if _pauses == 1:
        gc.disable()
        _paused_since = time.monotonic()
    elif time.monotonic() - _paused_since > _LONGEST_PAUSE:
        gc.collect()
        _paused_since = time.monotonic()
    try:
        yield
    finally:
        _pauses -= 1
        if _pauses == 0:
            gc.enable()


async def worklist(
    session: AsyncSession,
    rules: ScheduleRules,
    as_at: date,
    iro_id: uuid.UUID | None,
    build: Callable[[list[Entry]], list[_T]],
    page: PageRequest,
    *,
    with_visits: bool = False,
) -> Page[_T]:
    """The page asked for of the worklist `build` makes (filtered and sorted, off the loop)
    from the entries of the children to consider."""
    with _collection_paused():
        box = [await _inputs(session, as_at, iro_id, with_visits=with_visits)]

        def work() -> Page[_T]:
            # Schedules are CPU work: in a worker thread, so the event loop answers meanwhile.
            # Only the page leaves it; the rest is freed by reference counting before the
            # collector resumes (an idle worker keeps its last call's function and result).
            return page.slice(build(_entries(box.pop(), rules, as_at)))

        return await to_thread.run_sync(work)


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
            previous_review_on=shift(next_review.visit_from, -1),
            midway_on=midway_on,
            review_due_by=next_review.due_by.value,
        )
        rows.append((midway_on, entry.casefile.external_id, item))
    return _sorted(rows)  # type: ignore[return-value]


async def late_reviews_without_reason(
    session: AsyncSession, page: PageRequest, iro_id: uuid.UUID | None
) -> Page[LateReviewWithoutReason]:
    """Held reviews stored late (after their due-by date) with no late reason, oldest first.

    A query, not a schedule: `in_timescale` and `due_by` are stored with each review and kept
    up to date by the chain (reviews_api.reviews.chain). Each names the IRO allocated to the
    child on the day it was held (the latest allocation starting by then, should two overlap).
    """
    held_by = (
        select(Allocation.iro_id)
        .where(
            Allocation.child_id == Review.child_id,
            Allocation.from_on <= Review.held_on,
            or_(Allocation.to_on.is_(None), Allocation.to_on >= Review.held_on),
            Allocation.deleted_at.is_(None),
        )
        .order_by(Allocation.from_on.desc(), Allocation.id)
        .limit(1)
        .correlate(Review)
        .scalar_subquery()
    )
    query = (
        select(Review, Child.external_id, Child.given_name, Child.family_name, Iro.id, Iro.name)
        .join(Child, Child.id == Review.child_id)
        .join(Iro, Iro.id == held_by, isouter=True)
        .where(
            Review.deleted_at.is_(None),
            Review.held_on.is_not(None),
            Review.in_timescale.is_(False),
            Review.late_reason.is_(None),
        )
    )
    if iro_id is not None:
        query = query.where(held_by == iro_id)
    total = None
    if page.count:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (
        await session.execute(
            query.order_by(Review.held_on, Child.external_id, Review.id)
            .offset(page.offset)
            .limit(page.limit + 1)
        )
    ).all()
    items = []
    for review, external_id, given_name, family_name, found_id, iro_name in rows[: page.limit]:
        assert review.held_on is not None and review.due_by is not None
        items.append(
            LateReviewWithoutReason(
                review_id=review.id,
                version=review.version,
                child=ChildSummary(
                    id=review.child_id,
                    external_id=external_id,
                    name=display_name(external_id, given_name, family_name),
                ),
                iro=IroSummary(id=found_id, name=iro_name) if found_id else None,
                sequence=ReviewSequence(review.sequence),
                held_on=review.held_on,
                due_by=review.due_by,
                days_late=(review.held_on - review.due_by).days,
            )
        )
    return page.page(items, has_more=len(rows) > page.limit, total=total)
