"""IRO visits: the pre-review visit to the child and the midway review."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.errors import NotFound, invalid
from iro_kit.versioning import Precondition, claim_version
from reviews_api.casefile import load_casefile, lock_children
from reviews_api.models import Iro, Visit
from reviews_api.problems import AlreadyRecorded
from reviews_api.reviews.schemas import VisitCreate
from reviews_api.reviews.service import check_in_care


async def create_visit(
    session: AsyncSession, child_id: uuid.UUID, body: VisitCreate, by: str, today: date
) -> Visit:
    casefile = await load_casefile(session, child_id, for_update=True)
    check_in_care(casefile, body.visited_on, "/visited_on", today)
    existing = await session.scalar(
        select(Visit.id).where(
            Visit.child_id == child_id,
            Visit.kind == body.kind,
            Visit.visited_on == body.visited_on,
            Visit.deleted_at.is_(None),
        )
    )
    if existing is not None:
        raise AlreadyRecorded(
            f"A {body.kind} visit on {body.visited_on} is already recorded for this child.",
            extra={"existing_visit_id": str(existing)},
        )
    if body.iro_id is not None and await session.get(Iro, body.iro_id) is None:
        raise invalid("/iro_id", "no IRO has this id")
    visit = Visit(child_id=child_id, created_by=by, **body.model_dump())
    session.add(visit)
    await session.flush()
    return visit


async def list_visits(session: AsyncSession, child_id: uuid.UUID) -> list[Visit]:
    await load_casefile(session, child_id)
    rows = await session.scalars(
        select(Visit)
        .where(Visit.child_id == child_id, Visit.deleted_at.is_(None))
        .order_by(Visit.visited_on)
    )
    return list(rows)


async def delete_visit(
    session: AsyncSession, visit_id: uuid.UUID, reason: str, by: str, if_match: Precondition
) -> None:
    visit = await session.get(Visit, visit_id)
    if visit is None or visit.deleted_at is not None:
        raise NotFound("No visit has this id.")
    # The child's lock, as every write of its records takes, and the visit read afresh: a
    # deletion that waited for another is a 404 (or a 412), not a second deletion.
    await lock_children(session, [visit.child_id])
    await session.refresh(visit)
    if visit.deleted_at is not None:
        raise NotFound("No visit has this id.")
    await claim_version(session, visit, if_match)
    visit.deleted_at, visit.deleted_by, visit.deletion_reason = datetime.now(UTC), by, reason
    await session.flush()
