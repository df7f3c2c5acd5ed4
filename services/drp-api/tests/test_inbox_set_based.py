"""drp-api's read copy applied set-based: a batch is one upsert per table, and the newest
version of each child and IRO wins however its events arrive (out of order, repeated, across
batches). On SQLite, and on PostgreSQL when IRO_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from drp_api.app import SPEC, create_app
from drp_api.events import EVENTS
from drp_api.models import EVENT_TABLES, ChildCopy, IroCopy
from drp_api.settings import Settings
from iro_kit.db import Database
from iro_kit.events import CloudEvent
from iro_kit.events.inbox import inbox_router, receive_batch
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer

REVIEWS_RELAY = bearer("integration", subject="reviews-api")


@pytest.fixture
def url(database_url: str) -> str:
    upgrade_to_head(SPEC.script_location, database_url)
    return database_url


@pytest.fixture
def api(url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=url))) as client:
        yield client


def _event(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/reviews-api",
        "type": type_,
        "subject": data["id"],
        "time": "2026-11-26T10:00:00Z",
        "data": data,
    }


def child(child_id: str, version: int, family: str, deleted: bool = False) -> dict[str, Any]:
    return _event(
        "child.changed",
        {
            "id": child_id,
            "external_id": f"LCS-{version}",
            "given_name": "Sam",
            "family_name": family,
            "date_of_birth": "2010-06-15",
            "sex": "female",
            "periods_of_care": [],
            "deleted": deleted,
            "version": version,
        },
    )


def iro(iro_id: str, version: int, name: str, ended: str | None = None) -> dict[str, Any]:
    return _event(
        "iro.changed",
        {
            "id": iro_id,
            "name": name,
            "email": "alex@la.example",
            "fte": 1.0,
            "in_post_from": "2015-01-01",
            "in_post_to": ended,
            "version": version,
        },
    )


def deliver(api: TestClient, *events: dict[str, Any]) -> list[str]:
    response = api.post("/drp/events", json=list(events), headers=REVIEWS_RELAY)
    assert response.status_code == 200, response.text
    return [r["status"] for r in response.json()["results"]]


def read(url: str, statement: Any) -> list[Any]:
    async def run() -> list[Any]:
        database = Database(url)
        try:
            async with database.sessions() as session:
                return [tuple(row) for row in await session.execute(statement)]
        finally:
            await database.dispose()

    return asyncio.run(run())


def children(url: str) -> list[tuple[Any, ...]]:
    return read(
        url,
        select(
            ChildCopy.id,
            ChildCopy.external_id,
            ChildCopy.name,
            ChildCopy.deleted,
            ChildCopy.version,
        ).order_by(ChildCopy.external_id),
    )


def test_versions_3_1_2_in_one_batch_leave_version_3(api: TestClient, url: str) -> None:
    child_id = str(uuid.uuid4())
    statuses = deliver(
        api, child(child_id, 3, "Three"), child(child_id, 1, "One"), child(child_id, 2, "Two")
    )
    assert statuses == ["applied", "applied", "applied"]
    assert children(url) == [(uuid.UUID(child_id), "LCS-3", "Sam Three", False, 3)]


def test_the_same_event_twice_is_applied_once(api: TestClient, url: str) -> None:
    child_id = str(uuid.uuid4())
    first = child(child_id, 1, "One")
    assert deliver(api, first, first, child(child_id, 2, "Two")) == [
        "applied",
        "duplicate",
        "applied",
    ]
    assert deliver(api, first) == ["duplicate"]  # in a later batch too
    assert read(url, select(func.count()).select_from(EVENT_TABLES.inbox)) == [(2,)]
    assert children(url) == [(uuid.UUID(child_id), "LCS-2", "Sam Two", False, 2)]


def test_a_stale_version_in_a_later_batch_changes_nothing(api: TestClient, url: str) -> None:
    child_id, iro_id = str(uuid.uuid4()), str(uuid.uuid4())
    assert deliver(api, child(child_id, 5, "Five"), iro(iro_id, 4, "Alex Morgan")) == [
        "applied",
        "applied",
    ]
    later = deliver(
        api,
        child(child_id, 4, "Four"),
        child(child_id, 5, "Five-again"),  # the same version again: not newer
        iro(iro_id, 2, "Old Name", "2016-01-01"),
    )
    assert later == ["applied", "applied", "applied"]
    assert children(url) == [(uuid.UUID(child_id), "LCS-5", "Sam Five", False, 5)]
    assert read(url, select(IroCopy.id, IroCopy.name, IroCopy.in_post_to, IroCopy.version)) == [
        (uuid.UUID(iro_id), "Alex Morgan", None, 4)
    ]


def test_a_deleted_newest_version_wins_and_stays(api: TestClient, url: str) -> None:
    child_id = str(uuid.uuid4())
    deliver(api, child(child_id, 1, "One"))
    deliver(api, child(child_id, 3, "Three", deleted=True), child(child_id, 2, "Two"))
    assert children(url) == [(uuid.UUID(child_id), "LCS-3", "Sam Three", True, 3)]
    deliver(api, child(child_id, 2, "Two"))  # a stale live version does not bring it back
    assert children(url) == [(uuid.UUID(child_id), "LCS-3", "Sam Three", True, 3)]


def test_iros_out_of_order_and_repeated_across_batches(api: TestClient, url: str) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(api, iro(a, 2, "A two"), iro(b, 1, "B one"), iro(a, 1, "A one"))
    deliver(api, iro(b, 3, "B three", "2020-03-31"), iro(a, 2, "A two again"), iro(b, 2, "B two"))
    rows = read(url, select(IroCopy.id, IroCopy.name, IroCopy.in_post_to, IroCopy.version))
    assert sorted(rows, key=lambda r: r[1]) == [
        (uuid.UUID(a), "A two", None, 2),
        (uuid.UUID(b), "B three", date(2020, 3, 31), 3),
    ]


def test_an_event_that_cannot_be_applied_fails_alone(api: TestClient, url: str) -> None:
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    broken = child(bad, 1, "Bad")
    del broken["data"]["date_of_birth"]
    statuses = deliver(api, child(good, 2, "Two"), broken, child(good, 1, "One"))
    assert statuses == ["applied", "failed", "applied"]
    assert children(url) == [(uuid.UUID(good), "LCS-2", "Sam Two", False, 2)]


def test_a_batch_is_one_statement_per_table(url: str) -> None:
    """200 events of 50 children and 50 IROs: the inbox's look-up and insert, one upsert
    for the children, one for the IROs; not statements per event."""
    ids = [str(uuid.uuid4()) for _ in range(50)]
    events = [child(i, v, f"V{v}") for v in (2, 1) for i in ids]
    events += [iro(i, v, f"IRO v{v}") for v in (1, 2) for i in ids]
    statements: list[str] = []

    async def run() -> list[str]:
        database = Database(url)
        listen = database.engine.sync_engine

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(statement.split(None, 1)[0].upper())

        sa_event.listen(listen, "before_cursor_execute", record)
        try:
            async with database.transaction() as session:
                statements.clear()
                results = await receive_batch(
                    session,
                    EVENT_TABLES,
                    EVENTS.handlers,
                    [CloudEvent.model_validate(e) for e in events],
                    EVENTS.batch_handlers,
                )
                done = list(statements)
            return [r.status for r in results] + done
        finally:
            await database.dispose()

    outcome = asyncio.run(run())
    assert outcome[:200] == ["applied"] * 200
    work = [s for s in outcome[200:] if s not in ("BEGIN", "SAVEPOINT", "RELEASE")]
    assert work == ["SELECT", "INSERT", "INSERT", "INSERT"]  # inbox look-up, inbox, copies
    rows = children(url)
    assert len(rows) == 50
    assert {(name, version) for _, _, name, _, version in rows} == {("Sam V2", 2)}
    names = read(url, select(IroCopy.name, IroCopy.version).distinct())
    assert names == [("IRO v2", 2)]


def test_the_inbox_calls_a_batch_handler_once_where_its_type_first_arrives(url: str) -> None:
    """Per-event handlers in arrival order; a type's batch handler once, with its events."""
    calls: list[Any] = []

    async def one(session: Any, e: CloudEvent) -> None:
        calls.append(e.data["n"])

    async def many(session: Any, events: list[CloudEvent]) -> None:
        calls.append([e.data["n"] for e in events])

    def note(type_: str, n: int) -> CloudEvent:
        return CloudEvent.model_validate(_event(type_, {"id": str(uuid.uuid4()), "n": n}))

    events = [note("a", 1), note("b", 2), note("c", 3), note("b", 4), note("a", 5)]
    events.append(events[1])  # a duplicate: not given to the batch handler again

    async def run() -> list[str]:
        database = Database(url)
        try:
            async with database.transaction() as session:
                results = await receive_batch(
                    session, EVENT_TABLES, {"a": one, "b": one}, events, {"b": many}
                )
            return [r.status for r in results]
        finally:
            await database.dispose()

    statuses = asyncio.run(run())
    assert statuses == ["applied", "applied", "ignored", "applied", "applied", "duplicate"]
    assert calls == [1, [2, 4], 5]


def test_a_batch_handler_needs_a_per_event_handler() -> None:
    async def many(session: Any, events: list[CloudEvent]) -> None:
        pass

    with pytest.raises(ValueError, match=r"without a per-event handler: \['b'\]"):
        inbox_router("/x", EVENT_TABLES, {}, list, CollectorRegistry(), {"b": many})
