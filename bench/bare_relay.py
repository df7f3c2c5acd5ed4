"""A bare relay of the same design as reviews-api's: the relay bench's baseline.

The same events (iro.changed, written into reviews-api's outbox by its own code path, as
relay_bench.py does) are read from the outbox table in batches of the same size, with the same
number of batches in flight, and sent as plain HTTP POSTs (a JSON array per batch) to a bare
FastAPI endpoint (its own uvicorn process) that does plain INSERTs into an inbox table on
another PostgreSQL database, then marked delivered. The relay is its own process, timed from
its start until the outbox is empty (as relay_bench.py times `python -m reviews_api relay`).
No signing, tokens, retries, schema checks, dedup or read-copy updates: what moving the events
costs with nothing else.

    uv run python bench/bare_relay.py --postgres-url postgresql://postgres@127.0.0.1:54329/postgres

`run(admin_url, events)` is what bench/suite.py calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI, Request
from sqlalchemy import text

from iro_kit.db import create_engine

PATH = "/bare/events"
BATCH_SIZE = 200  # reviews-api's relay_batch_size
CONCURRENCY = 2  # and relay_concurrency
INBOX = """CREATE TABLE inbox (
    event_id varchar(100) PRIMARY KEY,
    source varchar(200) NOT NULL,
    type varchar(100) NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
)"""


def consumer_app(database_url: str) -> Any:
    """POST a JSON array of envelopes: one plain INSERT per event, one transaction per batch."""
    engine = create_engine(database_url)
    app = FastAPI()
    insert = text("INSERT INTO inbox (event_id, source, type) VALUES (:id, :source, :type)")

    @app.post(PATH)
    async def receive(request: Request) -> dict[str, int]:
        batch = await request.json()
        rows = [{"id": e["id"], "source": e["source"], "type": e["type"]} for e in batch]
        async with engine.begin() as connection:
            await connection.execute(insert, rows)
        return {"accepted": len(rows)}

    return app


def _serve(port: int, database_url: str) -> None:
    import uvicorn

    uvicorn.run(
        consumer_app(database_url),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_config=None,
        proxy_headers=True,
    )


async def _produce(reviews_url: str, target: str, count: int) -> None:
    """reviews-api's own path: IROs added 500 per transaction, each publishing iro.changed."""
    from reviews_api.app import create_app
    from reviews_api.models import Iro
    from reviews_api.settings import Settings

    routes = [{"subscriber": "bare", "url": target, "types": ["iro.changed"]}]
    settings = Settings(
        environment="development",
        database_url=reviews_url,
        event_routes=routes,
        relay_in_process=False,
    )
    database = create_app(settings).state.database
    try:
        for start in range(0, count, 500):
            async with database.transaction() as session:
                session.add_all(
                    Iro(
                        name=f"IRO {i}",
                        email=f"{uuid.uuid4().hex}@bench.example",
                        fte=1,
                        in_post_from=date(2020, 1, 1),
                    )
                    for i in range(start, min(start + 500, count))
                )
    finally:
        await database.dispose()


async def _relay(dsn: str, target: str, batch_size: int, concurrency: int) -> int:
    """`concurrency` loops, each claiming a batch (FOR UPDATE SKIP LOCKED), posting it and
    marking it delivered in the same transaction, until the outbox is empty."""
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    claim = (
        "SELECT id, envelope FROM outbox WHERE delivered_at IS NULL "
        "ORDER BY created_at, id LIMIT $1 FOR UPDATE SKIP LOCKED"
    )
    mark = "UPDATE outbox SET delivered_at = now() WHERE id = ANY($1::uuid[])"
    sent = 0

    async def loop(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while True:
            async with pool.acquire() as connection, connection.transaction():
                rows = await connection.fetch(claim, batch_size)
                if not rows:
                    return
                body = "[" + ",".join(row["envelope"] for row in rows) + "]"
                response = await client.post(
                    target, content=body, headers={"Content-Type": "application/json"}
                )
                response.raise_for_status()
                await connection.execute(mark, [row["id"] for row in rows])
                sent += len(rows)

    try:
        async with httpx.AsyncClient(timeout=30) as client:
            await asyncio.gather(*(loop(client) for _ in range(concurrency)))
    finally:
        await pool.close()
    return sent


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def run(
    admin_url: str, events: int, batch_size: int = BATCH_SIZE, concurrency: int = CONCURRENCY
) -> dict[str, Any]:
    """Produce `events` into a fresh reviews-api outbox, then time the bare relay draining them
    into the bare consumer's inbox (the consumer already up). Databases dropped after."""
    from iro_kit.migrations import upgrade_to_head
    from iro_kit.testing import create_postgres_database, drop_postgres_database
    from iro_local.topology import free_port, wait_until
    from reviews_api.app import SPEC

    reviews_url = create_postgres_database(admin_url)
    inbox_url = create_postgres_database(admin_url)
    consumer = None
    try:
        upgrade_to_head(SPEC.script_location, reviews_url)
        inbox_dsn = inbox_url.replace("postgresql+asyncpg://", "postgresql://")
        asyncio.run(_admin(inbox_dsn, INBOX))
        port = free_port()
        target = f"http://127.0.0.1:{port}{PATH}"
        asyncio.run(_produce(reviews_url, target, events))
        consumer = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "--database-url", inbox_url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(f"http://127.0.0.1:{port}/docs")
        dsn = reviews_url.replace("postgresql+asyncpg://", "postgresql://")
        # Its own process, timed from its start, as relay_bench.py times `reviews_api relay`.
        relay = [sys.executable, __file__, "--relay", dsn, target, str(batch_size)]
        started = time.perf_counter()
        output = subprocess.run([*relay, str(concurrency)], capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if output.returncode:
            raise RuntimeError(f"bare relay failed: {output.stderr[-2000:]}")
        sent = int(output.stdout.strip().splitlines()[-1])
        received = asyncio.run(_count(inbox_dsn))
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait(timeout=10)
        drop_postgres_database(admin_url, reviews_url)
        drop_postgres_database(admin_url, inbox_url)
    if received != events or sent != events:
        raise RuntimeError(f"bare relay: {events} produced, {sent} sent, {received} received")
    return {
        "events": events,
        "batch_size": batch_size,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
    }


async def _count(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM inbox"))
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("IRO_BENCH_POSTGRES_URL") or os.environ.get("IRO_TEST_POSTGRES_URL"),
    )
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--json-out", type=Path, help="write the result here too")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--relay", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.database_url)
        return 0
    if args.relay:
        dsn, target, batch_size, concurrency = args.relay
        print(asyncio.run(_relay(dsn, target, int(batch_size), int(concurrency))))
        return 0
    if not args.postgres_url:
        parser.error("needs --postgres-url (or IRO_BENCH_POSTGRES_URL)")
    result = {
        "benchmark": "bare relay: outbox rows -> plain HTTP POST -> FastAPI plain INSERT",
        **run(args.postgres_url, args.events),
    }
    print(json.dumps(result, indent=2))
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
