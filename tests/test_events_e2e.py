"""Events between real processes on PostgreSQL: reviews-api's outbox, its relay, drp-api's inbox.

The relay is killed with SIGKILL mid-stream and the consumer is stopped and restarted, and
still every event is applied exactly once; two relays on one outbox send nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from iro_local.topology import (
    RELAY_TUNING,
    Route,
    Topology,
    create_databases,
    drop_databases,
    upgrade_databases,
)
from reviews_api.app import create_app as create_reviews
from reviews_api.models import Iro
from reviews_api.settings import Settings as ReviewsSettings

UNDELIVERED = "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
DEAD = "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL"
INBOX = "SELECT count(*) FROM inbox"
REVIEWS_TO_DRP = [Route("reviews_api", "drp_api", ("iro.changed",))]


@pytest.fixture
def topology(postgres_url: str, tmp_path: Path) -> Iterator[Topology]:
    """reviews-api's database (`postgres_url`) and drp-api's, migrated; nothing started yet."""
    admin_url = os.environ["IRO_TEST_POSTGRES_URL"]
    urls = {"reviews_api": postgres_url, **create_databases(["drp_api"], admin_url)}
    try:
        upgrade_databases(urls)
        made = Topology(tmp_path, urls, routes=REVIEWS_TO_DRP, relay_env=RELAY_TUNING)
        try:
            yield made
        finally:
            made.stop_all(timeout=20, kill=True)
    finally:
        drop_databases(admin_url, [urls["drp_api"]])


def _url(topology: Topology, module: str) -> str:
    return topology.database_urls[module]


async def _produce(topology: Topology, count: int, batch: int, pause: float = 0.0) -> None:
    """reviews-api's own code path: IROs added in transactions, iro.changed published at commit."""
    env = topology.env()
    settings = ReviewsSettings(
        database_url=env["REVIEWS_DATABASE_URL"],
        event_routes=json.loads(env["REVIEWS_EVENT_ROUTES"]),
        relay_in_process=False,
    )
    app = create_reviews(settings)
    database = app.state.database
    try:
        for start in range(0, count, batch):
            async with database.transaction() as session:
                session.add_all(
                    Iro(
                        name=f"IRO {n}",
                        email=f"iro{n}-{uuid.uuid4().hex[:6]}@events.example",
                        fte=1,
                        in_post_from=date(2020, 1, 1),
                    )
                    for n in range(start, min(start + batch, count))
                )
            if pause:
                await asyncio.sleep(pause)
    finally:
        await database.dispose()


async def _scalar(url: str, sql: str) -> int:
    from iro_kit.db import Database

    database = Database(url)
    try:
        async with database.sessions() as session:
            return int(await session.scalar(text(sql)) or 0)
    finally:
        await database.dispose()


def _count(url: str, sql: str) -> int:
    return asyncio.run(_scalar(url, sql))


def _wait_drained(topology: Topology, expected: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = _count(_url(topology, "reviews_api"), UNDELIVERED)
        if pending == 0 and _count(_url(topology, "drp_api"), INBOX) >= expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"not drained: {pending} undelivered")


def _metric(text_: str, status: str) -> float:
    pattern = rf'inbox_events_total{{status="{status}",type="iro.changed"}} ([0-9.e+]+)'
    match = re.search(pattern, text_)
    return float(match.group(1)) if match else 0.0


def test_every_event_is_applied_exactly_once_through_kills_and_a_consumer_restart(
    topology: Topology,
) -> None:
    topology.serve("drp_api")
    relay = topology.relay("reviews_api")
    total, kills = 5000, 0

    async def produce_while_killing() -> None:
        nonlocal relay, kills
        producer = asyncio.create_task(_produce(topology, total, batch=25, pause=0.01))
        while not producer.done():
            await asyncio.sleep(1.5)
            if kills < 3:
                relay.send_signal(signal.SIGKILL)
                relay.wait(timeout=10)
                kills += 1
                relay = topology.relay("reviews_api")
            elif kills == 3 and "drp_api" in topology.services:
                # the consumer goes away while the relay keeps trying
                topology.stop(topology.services["drp_api"].process, timeout=20, escalate=False)
                await asyncio.sleep(2)
                topology.serve("drp_api")
                kills += 1
        await producer

    asyncio.run(produce_while_killing())
    assert kills >= 3, "the producer finished before the relay could be killed three times"
    _wait_drained(topology, total)
    assert _count(_url(topology, "drp_api"), INBOX) == total
    assert _count(_url(topology, "drp_api"), "SELECT count(*) FROM iro_copy") == total
    assert _count(_url(topology, "reviews_api"), DEAD) == 0


def test_two_relays_on_one_outbox_deliver_nothing_twice(topology: Topology) -> None:
    total = 10_000
    asyncio.run(_produce(topology, total, batch=500))
    topology.serve("drp_api")
    topology.relay("reviews_api")
    topology.relay("reviews_api")
    _wait_drained(topology, total)
    metrics = httpx.get(f"{topology.base('drp_api')}/metrics").text
    assert _metric(metrics, "applied") == total
    assert _metric(metrics, "duplicate") == 0
    assert _count(_url(topology, "drp_api"), "SELECT count(*) FROM iro_copy") == total
