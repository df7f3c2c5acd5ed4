"""Events for one child applied in two transactions at once (the relay keeps two batches in
flight) on PostgreSQL: the review chain and the newest version still win."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.db import Database
from iro_kit.events import CloudEvent
from iro_kit.migrations import upgrade_to_head
from iro_kit.schedule import ScheduleRules
from scorecard_api.app import SPEC
from scorecard_api.models import projection_version, review_due
from scorecard_api.projections.handlers import handlers

from .conftest import Producer

CHILD = uuid.UUID(int=0xC1)


class Recorder(Producer):
    """The conftest's producer, keeping its events instead of posting them."""

    def __init__(self) -> None:
        super().__init__(client=None)  # type: ignore[arg-type]

    def replay(self, events: list[dict[str, Any]]) -> None:
        pass


async def _apply(database: Database, event: dict[str, Any], hold: asyncio.Event | None = None):
    apply = handlers(ScheduleRules(calendar=WorkingDayCalendar()))
    async with database.transaction() as session:
        await apply[event["type"]](session, CloudEvent.model_validate(event))
        if hold is not None:
            await hold.wait()  # keep the transaction open, uncommitted


async def _race(database: Database, first: dict[str, Any], second: dict[str, Any]) -> None:
    """`first` applied and left open; `second` applied meanwhile; then `first` commits."""
    release = asyncio.Event()
    holding = asyncio.create_task(_apply(database, first, release))
    await asyncio.sleep(0.3)  # `first` has written and waits, uncommitted
    racing = asyncio.create_task(_apply(database, second))
    await asyncio.sleep(0.3)
    release.set()
    await asyncio.gather(holding, racing, return_exceptions=True)


@pytest.fixture
def database(postgres_url: str):
    upgrade_to_head(SPEC.script_location, postgres_url)
    return postgres_url


def test_a_review_arriving_while_its_child_is_applied_is_in_the_chain(database: str) -> None:
    recorder = Recorder()
    recorder.child(CHILD, "2010-01-01", [("2016-09-05", None, "C2", "S")])
    recorder.review(CHILD, "2016-09-30")
    child_event, review_event = recorder.sent

    async def run() -> list[Any]:
        db = Database(database)
        try:
            await _race(db, child_event, review_event)
            async with db.sessions() as session:
                return list(
                    await session.execute(select(review_due).order_by(review_due.c.ordinal))
                )
        finally:
            await db.dispose()

    dues = asyncio.run(run())
    # First review due 2016-10-03, held 2016-09-30; the second due 91 days later.
    assert [(d.ordinal, str(d.due_by), str(d.held_on)) for d in dues] == [
        (0, "2016-10-03", "2016-09-30"),
        (1, "2016-12-30", "None"),
    ]


def test_an_older_version_applied_at_the_same_time_as_a_newer_one_does_not_win(
    database: str,
) -> None:
    recorder = Recorder()
    recorder.child(CHILD, "2010-01-01", [("2016-09-05", None, "C2", "S")])  # version 1
    recorder.child(CHILD, "2010-01-01", [("2016-09-05", None, "V2", "S")])  # version 2
    recorder.child(CHILD, "2010-01-01", [("2016-09-05", None, "E1", "S")])  # version 3
    first, older, newer = recorder.sent

    async def run() -> int:
        db = Database(database)
        try:
            await _apply(db, first)
            await _race(db, newer, older)  # version 3 holds its lock; version 2 arrives
            async with db.sessions() as session:
                return int(await session.scalar(select(projection_version.c.version)) or 0)
        finally:
            await db.dispose()

    assert asyncio.run(run()) == 3
