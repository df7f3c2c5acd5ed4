"""Worklists: who needs what next, computed from each child's schedule as at a day.

Candidates are found by query (children looked after on the day, or in a series of short
breaks, optionally one IRO's); their schedules are computed in bulk, filtered and sorted by
urgency. An authority has a few thousand looked after children at most, and an IRO about 60.
"""

from __future__ import annotations

import functools
import gc
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import anyio
from anyio import to_thread
from sqlalchemy import (
    ARRAY,
    CompoundSelect,
    Date,
    Integer,
    Select,
    String,
    Uuid,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from iro_kit.dates import shift
from iro_kit.pagination import Page, PageRequest
from iro_kit.schedule import EpisodeFacts, ReviewFacts, ReviewSequence, Schedule, ScheduleRules
from iro_kit.schedule.model import SHORT_BREAK_STATUSES
from reviews_api.casefile import CaseFacts
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
# Candidate rows taken per step: each step holds the event loop for a few milliseconds only.
_CHUNK = 2500

# Up to this many children, schedules are computed on the event loop (about 20 µs each).
_INLINE_CHILDREN = 200
# A whole authority's children are read and scheduled this many at a time.
_AUTHORITY_CHUNK = 2000

# A series of short breaks stays on the worklists between breaks (rules._short_break_series_lapsed).
_SHORT_BREAK_LOOKBACK_DAYS = 190


@dataclass(slots=True)
class Entry:
    casefile: CaseFacts
    schedule: Schedule
    iro: IroSummary | None
    visits: list[VisitFacts]

    @property
    def child(self) -> ChildSummary:
        case = self.casefile
        return ChildSummary.model_construct(
            id=case.child_id, external_id=case.external_id, name=case.name
        )


_EPISODE = Episode.__table__
_ALLOCATION = Allocation.__table__
_IRO = Iro.__table__
_CHILD = Child.__table__
_VISIT = Visit.__table__
_REVIEW = Review.__table__


def ids_match(column: Any, dialect: str) -> Any:
    """`column IN :ids`: `= ANY(:ids)` on PostgreSQL (one statement text for any number of
    ids, so asyncpg's prepared statement is reused), an expanding IN elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(column.type)))
    return column.in_(bindparam("ids", expanding=True))


_FACTS = 0  # a candidate: its IRO that day, the child's external id and names
_EPISODE_ROW, _REVIEW_ROW, _VISIT_ROW = 1, 2, 3


def _candidates(one_iro: bool) -> Select[Any]:
    """Children to consider on `:as_at`, each with the IRO allocated that day (`:iro_id` only,
    if `one_iro`): looked after that day, or in a series of short breaks ended since `:since`.
    """
    as_at = bindparam("as_at", type_=Date)
    looked_after = or_(_EPISODE.c.end_on.is_(None), _EPISODE.c.end_on > as_at)
    # The statuses as SQL literals (constant codes): an IN of bound values is expanded per
    # execution, after the compiled form is taken from the cache.
    assert all(code.isalnum() for code in SHORT_BREAK_STATUSES)
    short_break_status = or_(
        *(
            _EPISODE.c.legal_status == literal_column(f"'{code}'")
            for code in sorted(SHORT_BREAK_STATUSES)
        )
    )
    short_breaks = short_break_status & (_EPISODE.c.end_on >= bindparam("since", type_=Date))
    allocated_that_day = and_(
        _ALLOCATION.c.child_id == _EPISODE.c.child_id,
        _ALLOCATION.c.from_on <= as_at,
        or_(_ALLOCATION.c.to_on.is_(None), _ALLOCATION.c.to_on >= as_at),
        _ALLOCATION.c.deleted_at.is_(None),
    )
    query = (
        select(
            _EPISODE.c.child_id.label("child_id"),
            _IRO.c.id.label("iro_id"),
            _IRO.c.name.label("iro_name"),
        )
        .select_from(_EPISODE)
        .join(_ALLOCATION, allocated_that_day, isouter=not one_iro)
        .join(_IRO, _IRO.c.id == _ALLOCATION.c.iro_id, isouter=not one_iro)
        .where(
            _EPISODE.c.start_on <= as_at,
            _EPISODE.c.deleted_at.is_(None),
            looked_after | short_breaks,
        )
        .distinct()
    )
    if one_iro:
        query = query.where(_ALLOCATION.c.iro_id == bindparam("iro_id", type_=Uuid))
    return query


# Every read below returns rows of one shape, `(kind, child_id, u, s1, s2, s3, s4, d1, d2,
# d3)`, of four kinds: a candidate with the IRO allocated that day (u, s1: the IRO's id and
# name; s2, s3, s4: the child's external id, given and family names), an episode (s1, s2:
# legal status and RNE; d1, d2: start and end), a review (u: its id; d1, d2, d3: held on,
# series started on, scheduled for) and a visit (s1: kind; d1: visited on).
_NO_ID, _NO_TEXT, _NO_DAY = null().cast(Uuid), null().cast(String), null().cast(Date)


def _kind(value: int) -> Any:
    return literal_column(str(value), Integer).label("kind")


def _named(candidate: Any) -> Select[Any]:
    return select(
        _kind(_FACTS),
        candidate.c.child_id,
        candidate.c.iro_id.label("u"),
        candidate.c.iro_name.label("s1"),
        _CHILD.c.external_id.label("s2"),
        _CHILD.c.given_name.label("s3"),
        _CHILD.c.family_name.label("s4"),
        _NO_DAY.label("d1"),
        _NO_DAY.label("d2"),
        _NO_DAY.label("d3"),
    ).join_from(candidate, _CHILD, _CHILD.c.id == candidate.c.child_id)


def _facts(chosen: Callable[[Any], Any], with_visits: bool) -> list[Select[Any]]:
    """The episodes, reviews and (if asked) visits of the children `chosen(child_id)` picks."""
    episodes = select(
        _kind(_EPISODE_ROW),
        _EPISODE.c.child_id,
        _NO_ID,
        _EPISODE.c.legal_status,
        _EPISODE.c.reason_new_episode,
        _NO_TEXT,
        _NO_TEXT,
        _EPISODE.c.start_on,
        _EPISODE.c.end_on,
        _NO_DAY,
    ).where(chosen(_EPISODE.c.child_id), _EPISODE.c.deleted_at.is_(None))
    reviews = select(
        _kind(_REVIEW_ROW),
        _REVIEW.c.child_id,
        _REVIEW.c.id,
        _NO_TEXT,
        _NO_TEXT,
        _NO_TEXT,
        _NO_TEXT,
        _REVIEW.c.held_on,
        _REVIEW.c.series_started_on,
        _REVIEW.c.scheduled_for,
    ).where(chosen(_REVIEW.c.child_id), _REVIEW.c.deleted_at.is_(None))
    if not with_visits:
        return [episodes, reviews]
    visits = select(
        _kind(_VISIT_ROW),
        _VISIT.c.child_id,
        _NO_ID,
        _VISIT.c.kind,
        _NO_TEXT,
        _NO_TEXT,
        _NO_TEXT,
        _VISIT.c.visited_on,
        _NO_DAY,
        _NO_DAY,
    ).where(
        chosen(_VISIT.c.child_id),
        _VISIT.c.deleted_at.is_(None),
        _VISIT.c.visited_on <= bindparam("as_at", type_=Date),
    )
    return [episodes, reviews, visits]


@functools.cache
def _caseload_read(with_visits: bool) -> CompoundSelect[Any]:
    """One IRO's worklist inputs in one statement, built once: the candidates allocated to
    `:iro_id` on `:as_at` with their facts. One round trip, and no statement building or
    compiling per request (the compiled form is cached by the engine)."""
    candidate = _candidates(one_iro=True).cte("candidate")
    chosen = select(candidate.c.child_id)
    return union_all(_named(candidate), *_facts(lambda column: column.in_(chosen), with_visits))


@functools.cache
def _authority_candidates_read() -> Select[Any]:
    """The whole authority's candidates on `:as_at`, named, with the IRO allocated that day."""
    candidate = _candidates(one_iro=False).subquery("candidate")
    return _named(candidate).order_by(candidate.c.child_id)


@functools.cache
def _chunk_facts_read(dialect: str, with_visits: bool) -> CompoundSelect[Any]:
    """The facts of the children `:ids` (a chunk of _AUTHORITY_CHUNK at most, consecutive in
    id order from `:lo` to `:hi`). The range keeps PostgreSQL on the child indexes: for an
    array alone, it scans whole tables once the array is a small share of a small table, and
    a scan of every table per chunk would make the worklist quadratic in children."""

    def chosen(column: Any) -> Any:
        between = column.between(bindparam("lo", type_=Uuid), bindparam("hi", type_=Uuid))
        return and_(between, ids_match(column, dialect))

    return union_all(*_facts(chosen, with_visits))


@dataclass(slots=True)
class VisitFacts:
    kind: str
    visited_on: date


class _Facts:
    """Rows of the reads above, gathered into case facts, IROs and visits by child."""

    __slots__ = ("candidates", "cases", "iros", "visits")

    def __init__(self) -> None:
        self.candidates: dict[uuid.UUID, IroSummary | None] = {}
        self.cases: dict[uuid.UUID, CaseFacts] = {}
        self.visits: dict[uuid.UUID, list[VisitFacts]] = {}
        self.iros: dict[uuid.UUID, IroSummary] = {}

    def take(self, rows: Iterable[Any]) -> None:
        cases, candidates, iros = self.cases, self.candidates, self.iros
        known = cases.get
        for kind, child_id, u, s1, s2, s3, s4, d1, d2, d3 in rows:
            case = known(child_id)
            if case is None:  # named when its candidate row comes
                case = cases[child_id] = CaseFacts(child_id, "", "")
            if kind == _EPISODE_ROW:
                case.episodes.append(EpisodeFacts(d1, d2, s1, s2))
            elif kind == _REVIEW_ROW:
                if d1 is not None:
                    case.reviews.append(ReviewFacts(d1, d2, u))
                elif d3 is not None and (case.booked_for is None or d3 > case.booked_for):
                    case.booked_for = d3
            elif kind == _FACTS:
                case.external_id, case.name = s2, display_name(s2, s3, s4)
                # Allocated to two IROs that day (should not be): the last row read wins.
                if u is None:
                    candidates[child_id] = None
                else:
                    iro = iros.get(u)
                    if iro is None:
                        iro = iros[u] = IroSummary.model_construct(id=u, name=s1)
                    candidates[child_id] = iro
            else:
                self.visits.setdefault(child_id, []).append(VisitFacts(s1, d1))

    def entries(self, rules: ScheduleRules, as_at: date) -> list[Entry]:
        candidates, visits = self.candidates, self.visits
        return [
            Entry(case, case.schedule(rules, as_at), candidates[child_id], visits.get(child_id, []))
            for child_id, case in self.cases.items()
        ]


def _params(as_at: date, iro_id: uuid.UUID | None) -> dict[str, Any]:
    params: dict[str, Any] = {"as_at": as_at, "since": shift(as_at, -_SHORT_BREAK_LOOKBACK_DAYS)}
    if iro_id is not None:
        params["iro_id"] = iro_id
    return params


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


_Rows = list[tuple[date, str, _T]]


async def worklist(
    session: AsyncSession,
    rules: ScheduleRules,
    as_at: date,
    iro_id: uuid.UUID | None,
    build: Callable[[list[Entry]], _Rows[_T]],
    page: PageRequest,
    *,
    with_visits: bool = False,
) -> Page[_T]:
    """The page asked for of the worklist `build` makes from the entries of the children to
    consider (its rows, sorted by date and then external id)."""
    with _collection_paused():
        connection = await session.connection()
        if iro_id is not None:
            rows = await _caseload_rows(connection, rules, as_at, iro_id, build, with_visits)
            return page.slice(_sorted(rows))
        box = [await _authority_rows(connection, rules, as_at, build, with_visits)]
        # Sorted, and all but the page freed, in a worker: thousands of rows.
        return await to_thread.run_sync(lambda: page.slice(_sorted(box.pop())))


async def _caseload_rows(
    connection: AsyncConnection,
    rules: ScheduleRules,
    as_at: date,
    iro_id: uuid.UUID,
    build: Callable[[list[Entry]], _Rows[_T]],
    with_visits: bool,
) -> _Rows[_T]:
    """One IRO's caseload (tens of children): one read, and the schedules computed on the
    event loop (a millisecond or two, less than a hop to a worker thread)."""
    facts = _Facts()
    read = _caseload_read(with_visits)
    facts.take((await connection.execute(read, _params(as_at, iro_id))).all())
    if len(facts.cases) > _INLINE_CHILDREN:  # an unusually large caseload
        return await to_thread.run_sync(lambda: build(facts.entries(rules, as_at)))
    return build(facts.entries(rules, as_at))


async def _authority_rows(
    connection: AsyncConnection,
    rules: ScheduleRules,
    as_at: date,
    build: Callable[[list[Entry]], _Rows[_T]],
    with_visits: bool,
) -> _Rows[_T]:
    """The whole authority (thousands of children), linear in children: the candidates are
    read (streamed in bounded partitions), then their facts a chunk of children at a time,
    each chunk's schedules computed in a worker thread (so the event loop answers meanwhile)
    and only its worklist rows kept. The facts of one chunk at most are held at once."""
    named = _Facts()
    result = await connection.stream(_authority_candidates_read(), _params(as_at, None))
    async for partition in result.partitions(_CHUNK):
        named.take(partition)
    read = _chunk_facts_read(connection.dialect.name, with_visits)
    ids = list(named.cases)
    chunks = []
    for start in range(0, len(ids), _AUTHORITY_CHUNK):
        chunk = _Facts()
        chunk.iros = named.iros
        for child_id in ids[start : start + _AUTHORITY_CHUNK]:
            chunk.cases[child_id] = named.cases.pop(child_id)
            chunk.candidates[child_id] = named.candidates.pop(child_id)
        chunks.append(chunk)

    async def facts_of(chunk: _Facts) -> list[Any]:
        chosen = list(chunk.cases)  # in id order, as the candidates were read
        params = {"ids": chosen, "lo": chosen[0], "hi": chosen[-1], "as_at": as_at}
        return (await connection.execute(read, params)).all()

    def work(chunk: _Facts, found: list[Any]) -> _Rows[_T]:
        chunk.take(found)
        found.clear()
        made = build(chunk.entries(rules, as_at))
        # Freed here, in the worker, as it goes: not on the event loop.
        chunk.cases.clear()
        chunk.candidates.clear()
        chunk.visits.clear()
        return made

    rows: _Rows[_T] = []
    found = await facts_of(chunks[0]) if chunks else []
    for index, chunk in enumerate(chunks):
        if index + 1 == len(chunks):
            rows.extend(await to_thread.run_sync(work, chunk, found))
            break
        # The next chunk's facts are read while this chunk's schedules are computed.
        following: list[list[Any]] = []

        async def read_next(
            into: list[list[Any]] = following, chunk: _Facts = chunks[index + 1]
        ) -> None:
            into.append(await facts_of(chunk))

        async with anyio.create_task_group() as group:
            group.start_soon(read_next)
            rows.extend(await to_thread.run_sync(work, chunk, found))
        found = following[0]
    return rows


def _sorted(rows: _Rows[_T]) -> list[_T]:
    rows.sort(key=lambda t: (t[0], t[1]))
    return [item for _, _, item in rows]


def reviews_due(
    found: list[Entry], rules: ScheduleRules, as_at: date, within: int, *, overdue: bool
) -> _Rows[ReviewDue]:
    calendar, rows = rules.calendar, []
    for entry in found:
        next_review = entry.schedule.next_review
        if next_review is None:
            continue
        due = next_review.due_by.value
        left = calendar.working_days_between(as_at, due)
        if overdue != (due < as_at) or (not overdue and left > within):
            continue
        item = ReviewDue.model_construct(
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
    return rows


def unallocated(found: list[Entry], rules: ScheduleRules, as_at: date) -> _Rows[UnallocatedChild]:
    rows = []
    for entry in found:
        schedule = entry.schedule
        if entry.iro is not None or schedule.next_review is None or schedule.period is None:
            continue
        deadline = schedule.allocation_due_by
        assert deadline is not None
        item = UnallocatedChild.model_construct(
            child=entry.child,
            looked_after_since=schedule.period.start,
            allocation_due_by=deadline.value,
            working_days_left=rules.calendar.working_days_between(as_at, deadline.value),
            overdue=as_at > deadline.value,
        )
        rows.append((deadline.value, entry.casefile.external_id, item))
    return rows


def _has_visit(entry: Entry, kind: VisitKind, since: date) -> bool:
    return any(v.kind == kind.value and v.visited_on >= since for v in entry.visits)


def visits_due(
    found: list[Entry], rules: ScheduleRules, as_at: date, within: int
) -> _Rows[VisitDue]:
    rows = []
    for entry in found:
        next_review = entry.schedule.next_review
        if next_review is None or _has_visit(entry, VisitKind.pre_review, next_review.visit_from):
            continue
        visit_by = next_review.visit_by.value
        left = rules.calendar.working_days_between(as_at, visit_by)
        if left > within:
            continue
        item = VisitDue.model_construct(
            child=entry.child,
            iro=entry.iro,
            review_due_by=next_review.due_by.value,
            scheduled_for=next_review.scheduled_for,
            visit_from=next_review.visit_from,
            visit_by=visit_by,
            working_days_left=left,
        )
        rows.append((visit_by, entry.casefile.external_id, item))
    return rows


def midway_due(
    found: list[Entry], rules: ScheduleRules, as_at: date, within: int
) -> _Rows[MidwayDue]:
    horizon = rules.calendar.add_working_days(as_at, within)
    rows = []
    for entry in found:
        next_review = entry.schedule.next_review
        if next_review is None or next_review.midway_on is None:
            continue
        midway_on = next_review.midway_on.value
        if midway_on > horizon or _has_visit(entry, VisitKind.midway, next_review.visit_from):
            continue
        item = MidwayDue.model_construct(
            child=entry.child,
            iro=entry.iro,
            previous_review_on=shift(next_review.visit_from, -1),
            midway_on=midway_on,
            review_due_by=next_review.due_by.value,
        )
        rows.append((midway_on, entry.casefile.external_id, item))
    return rows


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
