"""IROs, allocations and caseloads."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.errors import Conflict, NotFound, invalid
from iro_kit.schedule.model import SHORT_BREAK_STATUSES
from iro_kit.versioning import Precondition, claim_version
from reviews_api.casefile import lock_children
from reviews_api.iros.schemas import (
    AllocationCreate,
    Caseload,
    CaseloadSummary,
    IroCreate,
    IroUpdate,
    Reallocation,
    ReallocationLetter,
)
from reviews_api.models import Allocation, Child, Episode, Iro
from reviews_api.problems import LaterAllocation
from reviews_api.ranges import IRO, as_columns

HANDBOOK_MIN, HANDBOOK_MAX = 50, 70


async def get_iro(session: AsyncSession, iro_id: uuid.UUID) -> Iro:
    iro = await session.get(Iro, iro_id)
    if iro is None:
        raise NotFound("No IRO has this id.")
    return iro


async def _email_free(session: AsyncSession, email: str, iro_id: uuid.UUID | None = None) -> None:
    clash = await session.scalar(select(Iro.id).where(Iro.email == email))
    if clash is not None and clash != iro_id:
        raise Conflict("Another IRO has this email address.")


async def create_iro(session: AsyncSession, body: IroCreate) -> Iro:
    if body.end_on is not None and body.end_on < body.start_on:
        raise invalid("/end_on", "must be on or after start_on")
    await _email_free(session, body.email)
    iro = Iro(**as_columns(body.model_dump(), IRO))
    session.add(iro)
    await session.flush()
    return iro


async def update_iro(
    session: AsyncSession, iro_id: uuid.UUID, body: IroUpdate, if_match: Precondition
) -> Iro:
    iro = await get_iro(session, iro_id)
    await claim_version(session, iro, if_match)
    changes = body.model_dump(exclude_unset=True)
    for name in ("name", "email", "fte", "start_on"):
        if name in changes and changes[name] is None:
            raise invalid(f"/{name}", "cannot be null")
    if "email" in changes:
        await _email_free(session, changes["email"], iro_id)
    for name, value in as_columns(changes, IRO).items():
        setattr(iro, name, value)
    if iro.in_post_to is not None and iro.in_post_to < iro.in_post_from:
        raise invalid("/end_on", "must be on or after start_on")
    await session.flush()
    return iro


def in_post(iro: Iro, day: date) -> bool:
    return iro.in_post_from <= day and (iro.in_post_to is None or iro.in_post_to >= day)


def _active_on(day: date) -> ColumnElement[bool]:
    return and_(
        Allocation.from_on <= day,
        or_(Allocation.to_on.is_(None), Allocation.to_on >= day),
        Allocation.deleted_at.is_(None),
    )


async def allocations_on(
    session: AsyncSession, day: date, child_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, Allocation]:
    """Each child's allocation on `day`."""
    query = select(Allocation).where(_active_on(day))
    if child_ids is not None:
        query = query.where(Allocation.child_id.in_(child_ids))
    return {a.child_id: a for a in await session.scalars(query)}


async def looked_after_on(session: AsyncSession, day: date) -> dict[uuid.UUID, str]:
    """Children looked after on `day`, with their legal status that day."""
    rows = await session.execute(
        select(Episode.child_id, Episode.legal_status).where(
            Episode.start_on <= day,
            or_(Episode.end_on.is_(None), Episode.end_on > day),
            Episode.deleted_at.is_(None),
        )
    )
    return dict(rows.all())


async def allocate(
    session: AsyncSession, child_id: uuid.UUID, body: AllocationCreate, by: str
) -> tuple[Allocation, Allocation | None]:
    """Allocate a child to an IRO from a day, ending the allocation before it."""
    if await session.get(Child, child_id) is None:
        raise NotFound("No child has this id.")
    # One writer per child: a parallel allocation waits here, then sees this one's result.
    await lock_children(session, [child_id])
    iro = await get_iro(session, body.iro_id)
    if not in_post(iro, body.start_on):
        raise invalid("/start_on", f"the IRO is not in post on {body.start_on}")
    history = list(
        await session.scalars(
            select(Allocation)
            .where(Allocation.child_id == child_id, Allocation.deleted_at.is_(None))
            .order_by(Allocation.from_on)
            .execution_options(populate_existing=True)
        )
    )
    previous = None
    for allocation in history:
        if allocation.from_on >= body.start_on:
            raise LaterAllocation(
                "The child has an allocation starting on or after this date; delete it if it was "
                "a mistake.",
                extra={"allocation_id": str(allocation.id)},
            )
        if allocation.to_on is None or allocation.to_on >= body.start_on:
            if allocation.iro_id == body.iro_id:
                raise Conflict("The child is already allocated to this IRO on that date.")
            allocation.to_on = body.start_on - timedelta(days=1)
            allocation.version += 1  # ended: its ETag as read is stale
            previous = allocation
    created = Allocation(
        child_id=child_id,
        iro_id=body.iro_id,
        from_on=body.start_on,
        reason=body.reason,
        created_by=by,
    )
    session.add(created)
    await session.flush()
    return created, previous


async def allocation_history(session: AsyncSession, child_id: uuid.UUID) -> list[Allocation]:
    if await session.get(Child, child_id) is None:
        raise NotFound("No child has this id.")
    return list(
        await session.scalars(
            select(Allocation)
            .where(Allocation.child_id == child_id, Allocation.deleted_at.is_(None))
            .order_by(Allocation.from_on)
        )
    )


async def delete_allocation(
    session: AsyncSession, allocation_id: uuid.UUID, reason: str, by: str, if_match: Precondition
) -> None:
    allocation = await session.get(Allocation, allocation_id)
    if allocation is None:
        raise NotFound("No allocation has this id.")
    await lock_children(session, [allocation.child_id])
    await session.refresh(allocation)
    if allocation.deleted_at is not None:
        raise NotFound("No allocation has this id.")
    await claim_version(session, allocation, if_match)
    allocation.deleted_at, allocation.deleted_by = datetime.now(UTC), by
    allocation.deletion_reason = reason
    # The mistaken allocation closed the one before it: that one runs on in its place.
    previous = await session.scalar(
        select(Allocation)
        .where(
            Allocation.child_id == allocation.child_id,
            Allocation.deleted_at.is_(None),
            Allocation.to_on == allocation.from_on - timedelta(days=1),
        )
        .execution_options(populate_existing=True)
    )
    if previous is not None:
        previous.to_on = allocation.to_on
        previous.version += 1  # runs on again: its ETag as read is stale
    await session.flush()


def _caseload(iro: Iro, children: int, short_breaks: int) -> Caseload:
    fte = float(iro.fte)
    per_fte = children / fte if fte else None
    return Caseload(
        iro_id=iro.id,
        name=iro.name,
        fte=fte,
        children=children,
        short_break_children=short_breaks,
        caseload_per_fte=per_fte,
        within_handbook_range=None if per_fte is None else HANDBOOK_MIN <= per_fte <= HANDBOOK_MAX,
        room=HANDBOOK_MAX * fte - children,
    )


async def caseloads(session: AsyncSession, day: date) -> CaseloadSummary:
    looked_after = await looked_after_on(session, day)
    allocations = await allocations_on(session, day)
    counts: Counter[uuid.UUID] = Counter()
    short_breaks: Counter[uuid.UUID] = Counter()
    for child_id, legal_status in looked_after.items():
        allocation = allocations.get(child_id)
        if allocation is None:
            continue
        bucket = short_breaks if legal_status in SHORT_BREAK_STATUSES else counts
        bucket[allocation.iro_id] += 1
    iros = [i for i in await session.scalars(select(Iro).order_by(Iro.name)) if in_post(i, day)]
    population = sum(1 for s in looked_after.values() if s not in SHORT_BREAK_STATUSES)
    total_fte = float(sum(i.fte for i in iros))
    return CaseloadSummary(
        as_at=day,
        looked_after_children=population,
        unallocated_children=sum(1 for c in looked_after if c not in allocations),
        total_fte=total_fte,
        average_caseload=population / total_fte if total_fte else None,
        iros=[_caseload(i, counts[i.id], short_breaks[i.id]) for i in iros],
    )


async def _allocated_to(session: AsyncSession, iro_id: uuid.UUID, day: date) -> list[Allocation]:
    """The allocations to an IRO on `day`, as committed now (not as first read)."""
    query = (
        select(Allocation)
        .where(_active_on(day), Allocation.iro_id == iro_id)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


def most_room(
    summary: CaseloadSummary, excluding: frozenset[uuid.UUID] = frozenset()
) -> Caseload | None:
    """The IRO with the most room below the handbook maximum (fewest children on a tie)."""
    candidates = [c for c in summary.iros if c.iro_id not in excluding]
    return max(candidates, key=lambda c: (c.room, -c.children), default=None)


async def reallocate(
    session: AsyncSession, leaving_iro_id: uuid.UUID, body: Reallocation, by: str
) -> list[ReallocationLetter]:
    """Move every child allocated to an IRO on `start_on` to new IROs, one allocation each."""
    await get_iro(session, leaving_iro_id)
    current = await _allocated_to(session, leaving_iro_id, body.start_on)
    locked = {a.child_id for a in current}
    await lock_children(session, locked)
    # Read again under the locks: a child moved by another writer between the first read and
    # the locks would otherwise be moved again, over that writer's decision (PostgreSQL; on
    # SQLite no other writer can come between them).
    current = await _allocated_to(session, leaving_iro_id, body.start_on)
    if {a.child_id for a in current} != locked:
        raise Conflict(
            "The IRO's children changed while they were being reallocated; nobody was moved. "
            "Try again."
        )
    chosen = {a.child_id: a.iro_id for a in body.assignments}
    unknown = set(chosen) - {a.child_id for a in current}
    if unknown:
        raise invalid("/assignments", "names a child not allocated to this IRO on start_on")
    if leaving_iro_id in chosen.values():
        raise invalid("/assignments", "cannot reallocate a child to the leaving IRO")
    summary = await caseloads(session, body.start_on)
    room = {c.iro_id: c for c in summary.iros}
    letters = []
    for allocation in sorted(current, key=lambda a: str(a.child_id)):
        target_id = chosen.get(allocation.child_id)
        if target_id is None:
            best = most_room(summary, frozenset({leaving_iro_id}))
            if best is None:
                raise Conflict("No other IRO is in post on start_on to take the children.")
            target_id = best.iro_id
        target = await get_iro(session, target_id)
        await allocate(
            session,
            allocation.child_id,
            AllocationCreate(iro_id=target_id, start_on=body.start_on, reason=body.reason),
            by,
        )
        if target_id in room:
            room[target_id].room -= 1
            room[target_id].children += 1
        child = await session.get(Child, allocation.child_id)
        assert child is not None
        letters.append(
            ReallocationLetter(
                child_id=child.id,
                external_id=child.external_id,
                child_name=child.display_name,
                new_iro_id=target.id,
                new_iro_name=target.name,
                start_on=body.start_on,
            )
        )
    return letters
