"""The relay's and the inbox's fast paths keep their behaviour: due order, the stored envelope
posted as it is, acknowledgements by event id, the latency histogram per delivered row, the
inbox's look-up by the whole `(source, id)`; and, on PostgreSQL, the claim and the look-up
read indexes whatever the tables hold and the planner's statistics say.

On SQLite, and on PostgreSQL when IRO_TEST_POSTGRES_URL is set."""

# ruff: noqa: F811 -- test_events' fixtures (pair, ...) are imported and named as parameters

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import Database
from iro_kit.events import CloudEvent
from iro_kit.events.inbox import receive_batch, seen_statement
from iro_kit.migrations import upgrade_to_head

from .conftest import EVENT_TABLES, MIGRATIONS
from .test_events import Pair, anyio_backend, consumer_url, pair  # noqa: F401

pytestmark = pytest.mark.anyio
OUTBOX = EVENT_TABLES.outbox
INBOX = EVENT_TABLES.inbox


async def _rows(pair: Pair) -> dict[str, Any]:
    return {row.subject: row for row in await pair.outbox()}


async def _set(pair: Pair, subject: str, **values: Any) -> None:
    async with pair.producer_app.state.database.transaction() as session:
        await session.execute(update(OUTBOX).where(OUTBOX.c.subject == subject).values(**values))


async def test_rows_are_claimed_in_due_order_and_a_row_not_due_waits(pair: Pair) -> None:
    pair.relay.settings = dataclasses.replace(pair.relay.settings, batch_size=1)
    await pair.producer.post("/kit/v1/notes", json=["first", "second", "third"])
    now = datetime.now(UTC)
    await _set(pair, "first", next_attempt_at=now + timedelta(hours=1))  # as after a failure
    await _set(pair, "third", next_attempt_at=now - timedelta(minutes=5))  # due before second
    order, delivered = [], set()
    for _ in range(3):
        claimed = await pair.relay.deliver_once()
        now_done = {s for s, row in (await _rows(pair)).items() if row.delivered_at is not None}
        order.append((claimed, sorted(now_done - delivered)))
        delivered = now_done
    assert order == [(1, ["third"]), (1, ["second"]), (0, [])]  # first is not due yet
    await _set(pair, "first", next_attempt_at=now - timedelta(seconds=1))
    assert await pair.relay.deliver_once() == 1
    assert all(row.delivered_at is not None for row in (await _rows(pair)).values())
    assert [(c.subject, c.applied) for c in await pair.copies()] == [
        ("first", 1),
        ("second", 1),
        ("third", 1),
    ]


async def test_the_batch_posted_is_the_stored_envelopes(pair: Pair) -> None:
    bodies: list[bytes] = []
    flaky = pair.flaky

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            bodies.append(b"".join(chunks))
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return {"type": "http.disconnect"}
                replayed = True
                return {"type": "http.request", "body": bodies[-1], "more_body": False}

            await flaky(scope, replay, send)
            return
        await flaky(scope, receive, send)

    await pair.relay.client.aclose()
    pair.relay.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=recording))
    await pair.producer.post("/kit/v1/notes", json=["a", "b"])
    await pair.producer.post(
        "/kit/v1/note-events", json={"subject": "é", "version": 2, "label": "naïve ✓"}
    )
    assert await pair.relay.deliver_once() == 3
    [body] = bodies
    posted = json.loads(body)
    stored = {row.event_id: row.envelope for row in await pair.outbox()}
    assert {e["id"]: e for e in posted} == stored
    assert [e["subject"] for e in posted] == ["a", "b", "é"]
    assert all(row.delivered_at is not None for row in await pair.outbox())
    assert {c.subject: c.label for c in await pair.copies()} == {
        "a": "a",
        "b": "b",
        "é": "naïve ✓",
    }


def _histogram_count(pair: Pair) -> float:
    [metric] = pair.relay.metrics.latency.collect()
    counts = [
        s.value
        for s in metric.samples
        if s.name.endswith("_count") and s.labels == {"subscriber": "consumer"}
    ]
    return counts[0] if counts else 0.0


async def test_each_delivered_row_is_observed_and_only_acknowledged_rows_are_marked(
    pair: Pair,
) -> None:
    await pair.producer.post(
        "/kit/v1/note-events", json={"subject": "p", "version": 1, "label": "x", "poison": True}
    )
    await pair.producer.post("/kit/v1/notes", json=["m", "n", "o"])
    assert await pair.relay.deliver_once() == 4
    rows = await _rows(pair)
    assert {s for s, r in rows.items() if r.delivered_at is not None} == {"m", "n", "o"}
    assert (rows["p"].delivered_at, rows["p"].attempts) == (None, 1)
    metrics = pair.relay.metrics
    assert metrics.delivered.labels("consumer")._value.get() == 3
    assert metrics.retried.labels("consumer")._value.get() == 1
    assert _histogram_count(pair) == 3


def _event(source: str, event_id: str) -> CloudEvent:
    return CloudEvent(
        id=event_id,
        source=source,
        type="other.changed",  # no handler here: recorded and ignored
        subject="s",
        time="2026-11-26T10:00:00Z",
        data={"version": 1},
    )


async def test_the_inbox_tells_events_apart_by_source_and_id(database_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url)
    database = Database(database_url)
    shared = str(uuid.uuid4())

    async def receive(events: list[CloudEvent]) -> list[str]:
        async with database.transaction() as session:
            results = await receive_batch(session, EVENT_TABLES, {}, events)
        return [r.status for r in results]

    try:
        first = [_event("/a", shared), _event("/b", shared), _event("/a", shared)]
        assert await receive(first) == ["ignored", "ignored", "duplicate"]
        later = [_event("/b", shared), _event("/c", shared), _event("/a", "other")]
        assert await receive(later) == ["duplicate", "ignored", "ignored"]
        assert await receive([]) == []
        async with database.sessions() as session:
            keys = (await session.execute(select(INBOX.c.source, INBOX.c.event_id))).all()
        assert set(keys) == {("/a", "other"), ("/a", shared), ("/b", shared), ("/c", shared)}
    finally:
        await database.dispose()


# --- PostgreSQL: the plans ------------------------------------------------------------------


async def _plan(session: AsyncSession, statement: Any, params: dict[str, Any]) -> str:
    """EXPLAIN of `statement` as the driver sends it (its parameters bound, not inlined)."""
    connection = await session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    values = {**compiled.params, **params}
    names = compiled.positiontup or []
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    rows = await raw.fetch(f"EXPLAIN {compiled}", *(values[n] for n in names))
    return "\n".join(row[0] for row in rows)


def _postgres(url: str) -> None:
    if not url.startswith("postgresql"):
        pytest.skip("the plans are PostgreSQL's")


async def test_the_claim_reads_the_pending_index_in_order(pair: Pair, database_url: str) -> None:
    _postgres(database_url)
    database = pair.producer_app.state.database
    now = datetime.now(UTC)
    async with database.transaction() as session:
        await session.execute(
            OUTBOX.insert(),
            [
                {
                    "id": uuid.uuid4(),
                    "event_id": str(uuid.uuid4()),
                    "subscriber": "consumer",
                    "url": "http://consumer/kit/events",
                    "type": "note.changed",
                    "subject": f"s{i}",
                    "envelope": {"id": str(i)},
                    "created_at": now - timedelta(seconds=i),
                    "attempts": 0,
                    "next_attempt_at": now - timedelta(seconds=i),
                    "delivered_at": now if i % 2 else None,
                }
                for i in range(5000)
            ],
        )
    for analyzed in (False, True):
        if analyzed:
            async with database.transaction() as session:
                await session.execute(text("ANALYZE outbox"))
        async with database.transaction() as session:
            query = pair.relay.claim_query(now).with_for_update(skip_locked=True)
            plan = await _plan(session, query, {})
        assert "ix_outbox_pending" in plan, plan
        assert "Seq Scan" not in plan, plan
        assert not re.search(r"(^|->)\s*Sort\s", plan, re.MULTILINE), plan  # no full sort


async def test_the_inbox_look_up_probes_its_key_on_a_young_inbox(database_url: str) -> None:
    _postgres(database_url)
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, database_url)
    database = Database(database_url)
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(5000)]
    try:
        async with database.transaction() as session:
            await session.execute(
                INBOX.insert(),
                [{"source": "/p", "event_id": i, "type": "t", "received_at": now} for i in ids],
            )
        async with database.transaction() as session:  # never analyzed
            params = {"sources": ["/p"] * 200, "ids": ids[:200]}
            plan = await _plan(session, seen_statement(INBOX), params)
            found = await session.execute(seen_statement(INBOX), params)
        assert "Index" in plan and "pk_inbox" in plan, plan
        assert "Seq Scan on inbox" not in plan and "Bitmap Heap Scan" not in plan, plan
        assert sorted(found) == sorted(("/p", i) for i in ids[:200])
    finally:
        await database.dispose()
