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
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import create_postgres_database, drop_postgres_database
from reviews_api.app import SPEC as REVIEWS
from reviews_api.app import create_app as create_reviews
from reviews_api.models import Iro
from reviews_api.settings import Settings as ReviewsSettings

from .conftest import free_port, wait_until

UNDELIVERED = "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
DEAD = "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL"


@dataclass
class Topology:
    admin_url: str
    reviews_url: str
    drp_url: str
    workdir: Path
    drp_port: int = field(default_factory=free_port)
    drp: subprocess.Popen[bytes] | None = None
    relays: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def inbox(self) -> str:
        return f"http://127.0.0.1:{self.drp_port}/drp/events"

    def env(self) -> dict[str, str]:
        routes = [{"subscriber": "drp-api", "url": self.inbox, "types": ["iro.changed"]}]
        return {
            **os.environ,
            "REVIEWS_DATABASE_URL": self.reviews_url,
            "REVIEWS_EVENT_ROUTES": json.dumps(routes),
            "REVIEWS_RELAY_BACKOFF_BASE_SECONDS": "0.05",
            "REVIEWS_RELAY_BACKOFF_CAP_SECONDS": "0.5",
            "REVIEWS_RELAY_MAX_ATTEMPTS": "1000",
            "DRP_DATABASE_URL": self.drp_url,
        }

    def start_drp(self) -> None:
        log = (self.workdir / "drp.log").open("ab")
        self.drp = subprocess.Popen(
            [sys.executable, "-m", "drp_api", "serve", "--port", str(self.drp_port)],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_until(f"http://127.0.0.1:{self.drp_port}/drp/health/live")

    def stop_drp(self) -> None:
        assert self.drp is not None
        self.drp.terminate()
        self.drp.wait(timeout=20)

    def start_relay(self) -> subprocess.Popen[bytes]:
        log = (self.workdir / "relay.log").open("ab")
        relay = subprocess.Popen(
            [sys.executable, "-m", "reviews_api", "relay"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.relays.append(relay)
        return relay

    def stop_all(self) -> None:
        for process in [*self.relays, self.drp]:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=20)


@pytest.fixture
def topology(postgres_url: str, tmp_path: Path) -> Iterator[Topology]:
    admin_url = os.environ["IRO_TEST_POSTGRES_URL"]
    drp_url = create_postgres_database(admin_url)
    from drp_api.app import SPEC as DRP

    upgrade_to_head(REVIEWS.script_location, postgres_url)
    upgrade_to_head(DRP.script_location, drp_url)
    made = Topology(admin_url, postgres_url, drp_url, tmp_path)
    try:
        yield made
    finally:
        made.stop_all()
        drop_postgres_database(admin_url, drp_url)


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
        pending = _count(
            topology.reviews_url, "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
        )
        if pending == 0 and _count(topology.drp_url, "SELECT count(*) FROM inbox") >= expected:
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
    topology.start_drp()
    relay = topology.start_relay()
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
                relay = topology.start_relay()
            elif kills == 3 and topology.drp is not None:
                topology.stop_drp()  # the consumer goes away while the relay keeps trying
                await asyncio.sleep(2)
                topology.start_drp()
                kills += 1
        await producer

    asyncio.run(produce_while_killing())
    assert kills >= 3, "the producer finished before the relay could be killed three times"
    _wait_drained(topology, total)
    assert _count(topology.drp_url, "SELECT count(*) FROM inbox") == total
    assert _count(topology.drp_url, "SELECT count(*) FROM iro_copy") == total
    assert (
        _count(topology.reviews_url, "SELECT count(*) FROM outbox WHERE dead_at IS NOT NULL") == 0
    )


def test_two_relays_on_one_outbox_deliver_nothing_twice(topology: Topology) -> None:
    total = 10_000
    asyncio.run(_produce(topology, total, batch=500))
    topology.start_drp()
    topology.start_relay()
    topology.start_relay()
    _wait_drained(topology, total)
    metrics = httpx.get(f"http://127.0.0.1:{topology.drp_port}/drp/metrics").text
    assert _metric(metrics, "applied") == total
    assert _metric(metrics, "duplicate") == 0
    assert _count(topology.drp_url, "SELECT count(*) FROM iro_copy") == total
