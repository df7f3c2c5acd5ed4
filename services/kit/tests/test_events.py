"""Outbox, relay and inbox between two copies of the probe service, on SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from iro_kit.app import create_service_app
from iro_kit.events.routing import EventRoute
from iro_kit.migrations import upgrade_to_head
from iro_kit.settings import ServiceSettings
from iro_kit.testing import (
    bearer,
    create_postgres_database,
    drop_postgres_database,
    postgres_admin_url,
)

from .conftest import EVENT_TABLES, MIGRATIONS, SPEC, NoteCopy

pytestmark = pytest.mark.anyio
OUTBOX = EVENT_TABLES.outbox


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def consumer_url(tmp_path: Path) -> Iterator[str]:
    admin = postgres_admin_url()
    if admin is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}"
        return
    url = create_postgres_database(admin)
    yield url
    drop_postgres_database(admin, url)


class Flaky:
    """Stands in front of the real consumer app and fails the first `failures` requests."""

    def __init__(self, app: Any, failures: int) -> None:
        self.app, self.failures, self.calls = app, failures, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls += 1
            if self.failures != 0:
                self.failures -= 1
                await send({"type": "http.response.start", "status": 503, "headers": []})
                await send({"type": "http.response.body", "body": b"down"})
                return
        await self.app(scope, receive, send)


class Pair:
    def __init__(self, producer: Any, consumer: Any, flaky: Flaky) -> None:
        self.producer_app, self.consumer_app, self.flaky = producer, consumer, flaky
        self.producer = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=producer), base_url="http://producer"
        )
        self.consumer = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=consumer), base_url="http://consumer"
        )
        relay = producer.state.relay_factory()
        relay.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=flaky))
        self.relay = relay

    async def copies(self) -> list[NoteCopy]:
        async with self.consumer_app.state.database.sessions() as session:
            return list(await session.scalars(select(NoteCopy).order_by(NoteCopy.subject)))

    async def outbox(self) -> list[Any]:
        async with self.producer_app.state.database.sessions() as session:
            return (await session.execute(select(OUTBOX))).all()

    async def deliver_until(self, done: Any, rounds: int = 200) -> None:
        for _ in range(rounds):
            await self.relay.deliver_once()
            if await done():
                return
            await asyncio.sleep(0.005)
        raise AssertionError("not delivered in time")


@pytest.fixture
async def pair(database_url: str, consumer_url: str) -> AsyncIterator[Pair]:
    for url in (database_url, consumer_url):
        await asyncio.to_thread(upgrade_to_head, MIGRATIONS, url)
    route = EventRoute(
        subscriber="consumer", url="http://consumer/kit/events", types=["note.changed"]
    )
    producer = create_service_app(
        SPEC,
        ServiceSettings(
            database_url=database_url,
            event_routes=[route],
            relay_in_process=False,
            relay_backoff_base_seconds=0.001,
            relay_backoff_cap_seconds=0.002,
            relay_max_attempts=4,
        ),
    )
    consumer = create_service_app(
        SPEC, ServiceSettings(database_url=consumer_url, event_producers=["kit-probe"])
    )
    made = Pair(producer, consumer, Flaky(consumer, failures=0))
    try:
        yield made
    finally:
        await made.relay.client.aclose()
        for app in (producer, consumer):
            await app.state.database.dispose()


async def test_an_event_in_a_rolled_back_transaction_is_never_delivered(pair: Pair) -> None:
    refused = await pair.producer.post("/kit/v1/notes?fail=true", json=["gone"])
    assert refused.status_code == 422
    assert await pair.outbox() == []
    assert await pair.relay.deliver_once() == 0
    assert (await pair.producer.post("/kit/v1/notes", json=["kept"])).status_code == 201
    assert await pair.relay.deliver_once() == 1
    assert [(c.subject, c.applied) for c in await pair.copies()] == [("kept", 1)]


async def test_a_delivered_duplicate_is_not_applied_twice(pair: Pair) -> None:
    await pair.producer.post("/kit/v1/notes", json=["a"])
    await pair.relay.deliver_once()
    # As if the relay died after the subscriber applied the event but before marking it.
    async with pair.producer_app.state.database.transaction() as session:
        await session.execute(update(OUTBOX).values(delivered_at=None))
    assert await pair.relay.deliver_once() == 1
    [row] = await pair.outbox()
    assert row.delivered_at is not None
    assert [(c.subject, c.applied) for c in await pair.copies()] == [("a", 1)]


async def test_an_older_version_never_overwrites_a_newer_one(pair: Pair) -> None:
    for version, label in ((2, "new"), (1, "old"), (3, "newest"), (2, "stale")):
        body = {"subject": "s", "version": version, "label": label}
        assert (await pair.producer.post("/kit/v1/note-events", json=body)).status_code == 201
    await pair.relay.deliver_once()
    [copy] = await pair.copies()
    assert (copy.version, copy.label) == (3, "newest")


async def test_a_subscriber_that_fails_three_times_then_recovers_receives_the_event(
    pair: Pair,
) -> None:
    pair.flaky.failures = 3
    await pair.producer.post("/kit/v1/notes", json=["late"])

    async def delivered() -> bool:
        return all(row.delivered_at is not None for row in await pair.outbox())

    await pair.deliver_until(delivered)
    [row] = await pair.outbox()
    assert row.attempts == 3
    assert pair.flaky.calls == 4
    assert [(c.subject, c.applied) for c in await pair.copies()] == [("late", 1)]


async def test_an_always_failing_subscriber_dead_letters_and_a_redrive_delivers(pair: Pair) -> None:
    pair.flaky.failures = -1  # fails until told otherwise
    await pair.producer.post("/kit/v1/notes", json=["stuck"])

    async def dead() -> bool:
        return all(row.dead_at is not None for row in await pair.outbox())

    await pair.deliver_until(dead)
    [row] = await pair.outbox()
    assert (row.attempts, row.last_error) == (4, "HTTP 503 from subscriber")
    admin = bearer("admin")
    letters = (await pair.producer.get("/kit/admin/outbox/dead-letters", headers=admin)).json()
    assert [(d["subject"], d["last_error"]) for d in letters["items"]] == [
        ("stuck", "HTTP 503 from subscriber")
    ]
    assert await pair.relay.deliver_once() == 0  # dead letters are not retried on their own

    pair.flaky.failures = 0
    response = await pair.producer.post(
        f"/kit/admin/outbox/dead-letters/{row.id}/redrive", headers=admin
    )
    assert response.json() == {"redriven": 1}
    assert await pair.relay.deliver_once() == 1
    assert [(c.subject, c.applied) for c in await pair.copies()] == [("stuck", 1)]
    backlog = (await pair.producer.get("/kit/admin/outbox", headers=admin)).json()
    assert backlog == [
        {
            "subscriber": "consumer",
            "undelivered": 0,
            "dead_lettered": 0,
            "oldest_undelivered_at": None,
        }
    ]


async def test_one_bad_event_in_a_batch_fails_alone(pair: Pair) -> None:
    await pair.producer.post(
        "/kit/v1/note-events", json={"subject": "p", "version": 1, "label": "x", "poison": True}
    )
    await pair.producer.post("/kit/v1/notes", json=["fine"])
    await pair.relay.deliver_once()
    rows = {row.subject: row for row in await pair.outbox()}
    assert rows["fine"].delivered_at is not None
    assert rows["p"].delivered_at is None and rows["p"].attempts == 1
    assert "ValueError" in rows["p"].last_error
    assert [c.subject for c in await pair.copies()] == ["fine"]


async def test_the_inbox_takes_events_only_from_producing_services(pair: Pair) -> None:
    event = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "/kit-probe",
        "type": "note.changed",
        "subject": "x",
        "time": "2026-11-26T10:00:00Z",
        "data": {"label": "x", "version": 1},
    }
    case_system = bearer("integration", subject="lcs")
    assert (
        await pair.consumer.post("/kit/events", json=event, headers=case_system)
    ).status_code == 403
    producer = bearer("integration", subject="kit-probe")
    assert (
        await pair.consumer.post("/kit/events", json=event, headers=bearer("iro"))
    ).status_code == 403
    bad = await pair.consumer.post(
        "/kit/events", json={**event, "specversion": "0.3"}, headers=producer
    )
    assert bad.status_code == 422
    first = await pair.consumer.post("/kit/events", json=event, headers=producer)
    again = await pair.consumer.post("/kit/events", json=event, headers=producer)
    assert first.json()["results"] == [{"id": "e-1", "status": "applied", "error": None}]
    assert again.json()["results"] == [{"id": "e-1", "status": "duplicate", "error": None}]


async def test_events_can_only_be_written_inside_a_transaction(pair: Pair) -> None:
    from iro_kit.events import emit

    async with pair.producer_app.state.database.sessions() as session:
        session.info["iro_outbox"] = pair.producer_app.state.database.outbox
        with pytest.raises(RuntimeError, match="inside a transaction"):
            await emit(session, "note.changed", "x", {"version": 1})


async def test_delivered_rows_are_purged_after_the_retention_period(pair: Pair) -> None:
    await pair.producer.post("/kit/v1/notes", json=["old", "new"])
    await pair.relay.deliver_once()
    async with pair.producer_app.state.database.transaction() as session:
        await session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.subject == "old")
            .values(created_at=datetime.now(UTC) - timedelta(days=8))
        )
    assert await pair.relay.purge() == 1  # retention 7 days by default
    assert [row.subject for row in await pair.outbox()] == ["new"]


async def test_relay_metrics_count_deliveries_retries_and_backlog(pair: Pair) -> None:
    pair.flaky.failures = 1
    await pair.producer.post("/kit/v1/notes", json=["m"])
    await pair.relay.deliver_once()  # fails once
    await pair.relay.refresh_gauges()
    metrics = pair.relay.metrics
    assert metrics.retried.labels("consumer")._value.get() == 1
    assert metrics.backlog.labels("consumer")._value.get() == 1

    async def delivered() -> bool:
        return all(row.delivered_at is not None for row in await pair.outbox())

    await pair.deliver_until(delivered)
    await pair.relay.refresh_gauges()
    assert metrics.delivered.labels("consumer")._value.get() == 1
    assert metrics.backlog.labels("consumer")._value.get() == 0
    received = (await pair.consumer.get("/kit/metrics")).text
    assert 'inbox_events_total{status="applied",type="note.changed"} 1.0' in received
