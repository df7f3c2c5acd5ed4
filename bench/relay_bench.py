"""Relay throughput and end-to-end lag on PostgreSQL, to a real consumer over loopback.

reviews-api's outbox (iro.changed, written by its own code path) is delivered by
`python -m reviews_api relay` (its own process) to drp-api's inbox (its own uvicorn process),
which applies each event to its read copy.

- Throughput: 20,000 events committed first, then the relay started; events/s to drain.
  Target >= 1,000 events/s on 2 cores.
- Lag: the relay running, events committed at 200/s for 15 s; for each event, from its outbox
  row's creation (in the committing transaction) to the consumer's inbox row. Target p95 < 500 ms.

    uv run python bench/relay_bench.py --postgres-url postgresql://postgres@127.0.0.1:54329/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import text

from iro_kit.db import Database
from iro_local.topology import Route, create_databases, drop_databases, upgrade_databases
from iro_local.topology import Topology as Processes
from reviews_api.app import create_app as create_reviews
from reviews_api.models import Iro
from reviews_api.settings import Settings as ReviewsSettings

RESULTS = Path(__file__).parent / "results" / "relay.json"


class Topology:
    """reviews-api's and drp-api's databases, made and migrated; drp-api's inbox takes
    iro.changed. The processes are iro_local.topology's, with the bench's environment."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        urls = create_databases(["reviews_api", "drp_api"], admin_url)
        upgrade_databases(urls)
        self.reviews_url, self.drp_url = urls["reviews_api"], urls["drp_api"]
        self.processes = Processes(
            None,  # no logs: stdout and stderr go to /dev/null
            urls,
            routes=[Route("reviews_api", "drp_api", ("iro.changed",))],
            extra_env={
                "REVIEWS_ENVIRONMENT": "development",
                "DRP_ENVIRONMENT": "development",
                "DRP_LOG_LEVEL": "WARNING",
                "REVIEWS_LOG_LEVEL": "WARNING",
            },
        )
        self.env = self.processes.env()

    def start(self, *args: str) -> None:
        self.processes.spawn(*args)

    def start_consumer(self) -> None:
        try:
            self.processes.serve("drp_api", wait="ready", timeout=30)
        except TimeoutError:
            raise SystemExit("drp-api did not start") from None

    def close(self) -> None:
        self.processes.stop_all(timeout=20, escalate=False)
        drop_databases(self.admin_url, [self.reviews_url, self.drp_url])


async def produce(topology: Topology, count: int, per_transaction: int, interval: float) -> None:
    settings = ReviewsSettings(
        environment="development",
        database_url=topology.reviews_url,
        event_routes=json.loads(topology.env["REVIEWS_EVENT_ROUTES"]),
        relay_in_process=False,
    )
    database = create_reviews(settings).state.database
    started = time.perf_counter()
    try:
        for n, start in enumerate(range(0, count, per_transaction)):
            async with database.transaction() as session:
                session.add_all(
                    Iro(
                        name=f"IRO {i}",
                        email=f"{uuid.uuid4().hex}@bench.example",
                        fte=1,
                        in_post_from=date(2020, 1, 1),
                    )
                    for i in range(start, min(start + per_transaction, count))
                )
            if interval:  # keep to the planned rate
                delay = started + (n + 1) * interval - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
    finally:
        await database.dispose()


async def scalar(url: str, sql: str) -> int:
    database = Database(url)
    try:
        async with database.sessions() as session:
            return int(await session.scalar(text(sql)) or 0)
    finally:
        await database.dispose()


def wait_drained(topology: Topology, expected: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if asyncio.run(scalar(topology.drp_url, "SELECT count(*) FROM inbox")) >= expected:
            return time.perf_counter()
        time.sleep(0.05)
    raise SystemExit("not drained in time")


async def lags(topology: Topology) -> list[float]:
    produced, received = Database(topology.reviews_url), Database(topology.drp_url)
    try:
        async with produced.sessions() as session:
            created = dict(
                (await session.execute(text("SELECT event_id, created_at FROM outbox"))).all()
            )
        async with received.sessions() as session:
            arrived = dict(
                (await session.execute(text("SELECT event_id, received_at FROM inbox"))).all()
            )
    finally:
        await produced.dispose()
        await received.dispose()
    return [(arrived[i] - created[i]).total_seconds() * 1000 for i in created if i in arrived]


def throughput(admin_url: str, events: int) -> dict[str, float]:
    topology = Topology(admin_url)
    try:
        asyncio.run(produce(topology, events, per_transaction=500, interval=0))
        topology.start_consumer()
        started = time.perf_counter()
        topology.start("reviews_api", "relay")
        finished = wait_drained(topology, events)
        seconds = finished - started
        return {
            "events": events,
            "seconds": round(seconds, 2),
            "events_per_second": round(events / seconds),
        }
    finally:
        topology.close()


def lag(admin_url: str, rate: int, seconds: int) -> dict[str, float]:
    topology = Topology(admin_url)
    try:
        topology.start_consumer()
        topology.start("reviews_api", "relay")
        time.sleep(2)
        per_transaction, interval = 10, 10 / rate
        total = rate * seconds
        asyncio.run(produce(topology, total, per_transaction, interval))
        wait_drained(topology, total)
        measured = sorted(asyncio.run(lags(topology)))
        return {
            "rate_per_second": rate,
            "events": len(measured),
            "ms_p50": round(statistics.median(measured), 1),
            "ms_p95": round(measured[int(0.95 * (len(measured) - 1))], 1),
            "ms_max": round(measured[-1], 1),
        }
    finally:
        topology.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("IRO_BENCH_POSTGRES_URL") or os.environ.get("IRO_TEST_POSTGRES_URL"),
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("needs --postgres-url (or IRO_BENCH_POSTGRES_URL)")
    drained = throughput(args.postgres_url, args.events)
    delays = lag(args.postgres_url, args.rate, args.seconds)
    result = {
        "benchmark": "reviews-api outbox -> relay process -> drp-api inbox, PostgreSQL, loopback",
        "date": datetime.now(UTC).date().isoformat(),
        "machine_cores": os.cpu_count(),
        "python_version": platform.python_version(),
        "relay": {
            "batch_size": ReviewsSettings(environment="development").relay_batch_size,
            "concurrency": ReviewsSettings(environment="development").relay_concurrency,
        },
        "throughput": drained,
        "lag": delays,
        "targets": {"events_per_second": 1000, "lag_ms_p95": 500},
        "passed": drained["events_per_second"] >= 1000 and delays["ms_p95"] < 500,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
