"""Migration reviews_0005 resolves duplicates stored before the constraints existed.

Each duplicate is soft-deleted with a reason naming the record kept (never dropped), so the
unique indexes can be built on a database that double submits already reached.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from alembic import command
from sqlalchemy import column, select, table
from sqlalchemy.sql.dml import Insert

from iro_kit.db import Database
from iro_kit.migrations import alembic_config, upgrade_to_head
from reviews_api.app import SPEC
from reviews_api.models import Allocation, Child, Episode, Iro, Review, Visit


def _at(minutes: int) -> datetime:
    return datetime(2017, 1, 20, 12, tzinfo=UTC) + timedelta(minutes=minutes)


def _row_as_of_0004(model: type, **values: object) -> Insert:
    """An INSERT of these columns only: the model has columns later revisions added."""
    columns = model.__table__.c  # type: ignore[attr-defined]
    target = table(model.__tablename__, *(column(n, columns[n].type) for n in values))  # type: ignore[attr-defined]
    return target.insert().values(**values)


def test_duplicates_stored_before_the_constraints_are_resolved(database_url: str) -> None:
    command.upgrade(alembic_config(SPEC.script_location, database_url), "reviews_0004")
    child, other, iro = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first_review, double_review = uuid.uuid4(), uuid.uuid4()
    first_visit, double_visit = uuid.uuid4(), uuid.uuid4()
    early, late, same_a, same_b = (uuid.uuid4() for _ in range(4))

    async def seed() -> None:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                for child_id, external_id in ((child, "A"), (other, "B")):
                    session.add(
                        Child(
                            id=child_id,
                            external_id=external_id,
                            given_name="Sam",
                            family_name="Taylor",
                            date_of_birth=date(2010, 6, 15),
                            sex="female",
                        )
                    )
                session.add(
                    Iro(
                        id=iro,
                        name="Alex",
                        email="a@la.example",
                        fte=1,
                        in_post_from=date(2015, 1, 1),
                    )
                )
                await session.flush()
                await session.execute(
                    _row_as_of_0004(
                        Episode,
                        id=uuid.uuid4(),
                        child_id=child,
                        start_on=date(2017, 1, 3),
                        reason_new_episode="S",
                        legal_status="C2",
                        created_at=_at(0),
                        updated_at=_at(0),
                    )
                )
                for review_id, minute in ((first_review, 0), (double_review, 1)):
                    session.add(
                        Review(
                            id=review_id,
                            child_id=child,
                            held_on=date(2017, 1, 20),
                            participation_code="PN1",
                            created_by="iro-1",
                            created_at=_at(minute),
                        )
                    )
                for visit_id, minute in ((first_visit, 0), (double_visit, 1)):
                    session.add(
                        Visit(
                            id=visit_id,
                            child_id=child,
                            kind="pre_review",
                            visited_on=date(2017, 1, 16),
                            created_by="iro-1",
                            created_at=_at(minute),
                        )
                    )
                for allocation_id, child_id, from_on, minute in (
                    (early, child, date(2017, 1, 3), 0),
                    (late, child, date(2017, 2, 1), 1),
                    (same_a, other, date(2017, 3, 1), 0),
                    (same_b, other, date(2017, 3, 1), 1),
                ):
                    await session.execute(
                        _row_as_of_0004(
                            Allocation,
                            id=allocation_id,
                            child_id=child_id,
                            iro_id=iro,
                            from_on=from_on,
                            created_by="manager-1",
                            created_at=_at(minute),
                            updated_at=_at(minute),
                        )
                    )
        finally:
            await database.dispose()

    asyncio.run(seed())
    upgrade_to_head(SPEC.script_location, database_url)

    async def after() -> tuple[
        dict[uuid.UUID, Review], dict[uuid.UUID, Visit], dict[uuid.UUID, Allocation]
    ]:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                reviews = {r.id: r for r in await session.scalars(select(Review))}
                visits = {v.id: v for v in await session.scalars(select(Visit))}
                allocations = {a.id: a for a in await session.scalars(select(Allocation))}
                return reviews, visits, allocations
        finally:
            await database.dispose()

    reviews, visits, allocations = asyncio.run(after())
    assert reviews[first_review].deleted_at is None
    assert reviews[double_review].deleted_at is not None
    assert str(first_review) in (reviews[double_review].deletion_reason or "")
    assert visits[first_visit].deleted_at is None
    assert visits[double_visit].deleted_at is not None
    # Open allocations from different days: the earlier ran until the day before the later.
    assert allocations[early].to_on == date(2017, 1, 31)
    assert allocations[early].deleted_at is None
    assert (allocations[late].to_on, allocations[late].deleted_at) == (None, None)
    # From one day: the second was a double submit.
    assert allocations[same_a].deleted_at is None
    assert allocations[same_b].deleted_at is not None
    # reviews_0008: the rows stored before it start at version 1.
    assert {a.version for a in allocations.values()} == {1}
