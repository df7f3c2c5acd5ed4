"""Plan dates (history rows, never overwritten) and annual outcomes, as stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import id_in
from iro_kit.errors import invalid
from reviews_api.models import AnnualOutcome, Child, PlanDate
from reviews_api.plans.history import PlanKind


async def record_plan_date(
    session: AsyncSession,
    child: Child,
    kind: PlanKind,
    dated_on: date,
    *,
    source: str,
    recorded_by: str,
    today: date,
) -> tuple[PlanDate, bool]:
    """Add a date to the child's history; the same kind and date again is not a new row.

    Returns the row and whether it was created.
    """
    if dated_on > today:
        raise invalid("/dated_on", "is in the future")
    if dated_on < child.date_of_birth:
        raise invalid("/dated_on", "is before the child's date of birth")
    existing = await session.scalar(
        select(PlanDate).where(
            PlanDate.child_id == child.id,
            PlanDate.kind == kind.value,
            PlanDate.dated_on == dated_on,
        )
    )
    if existing is not None:
        return existing, False
    row = PlanDate(
        id=uuid.uuid4(),
        child_id=child.id,
        kind=kind.value,
        dated_on=dated_on,
        source=source,
        recorded_by=recorded_by,
    )
    session.add(row)
    await session.flush()
    return row, True


async def plan_history(
    session: AsyncSession, child_id: uuid.UUID, kind: PlanKind | None, as_at: date | None
) -> list[PlanDate]:
    """The child's plan dates, newest first (only those dated on or before `as_at`)."""
    query = select(PlanDate).where(PlanDate.child_id == child_id)
    if kind is not None:
        query = query.where(PlanDate.kind == kind.value)
    if as_at is not None:
        query = query.where(PlanDate.dated_on <= as_at)
    rows = await session.scalars(query.order_by(PlanDate.dated_on.desc(), PlanDate.kind))
    return list(rows)


async def latest_plan_dates(
    session: AsyncSession, child_ids: Iterable[uuid.UUID], kind: PlanKind, as_at: date
) -> dict[uuid.UUID, date]:
    """For each child, the latest date of `kind` on or before `as_at` (children with none are
    left out). One query per 5,000 children."""
    ids = list(child_ids)
    latest: dict[uuid.UUID, date] = {}
    for start in range(0, len(ids), 5000):
        rows = await session.execute(
            select(PlanDate.child_id, func.max(PlanDate.dated_on))
            .where(
                id_in(session, PlanDate.child_id, ids[start : start + 5000]),
                PlanDate.kind == kind.value,
                PlanDate.dated_on <= as_at,
            )
            .group_by(PlanDate.child_id)
        )
        latest.update({child_id: day for child_id, day in rows})
    return latest


async def annual_outcomes(session: AsyncSession, child_id: uuid.UUID) -> list[AnnualOutcome]:
    rows = await session.scalars(
        select(AnnualOutcome)
        .where(AnnualOutcome.child_id == child_id)
        .order_by(AnnualOutcome.year_ending.desc())
    )
    return list(rows)
