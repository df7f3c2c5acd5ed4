"""Latency of one IRO's due-soon worklist on PostgreSQL with 100,000 children loaded.

Loads the synthetic population of schedule_bench.py (same seed) into a fresh PostgreSQL
database through the service's own migrations, allocates the children to IROs 60 at a time,
starts reviews-api as its own process (uvicorn, as deployed), and times
`GET /reviews/v1/worklists/reviews-due?iro_id=...` over loopback with a real token, cycling
through the IROs. Writes bench/results/worklist.json. Target: p95 under 25 ms.

    uv run python bench/worklist_bench.py --postgres-url postgresql://postgres@127.0.0.1:54329/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).parent))
from schedule_bench import AS_AT, build_children

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import create_postgres_database, drop_postgres_database
from iro_kit.tokens import mint_dev_token
from reviews_api.app import SPEC

CHILDREN_PER_IRO = 60
TARGET_P95_MS = 25.0
RESULTS = Path(__file__).parent / "results" / "worklist.json"


async def load(dsn: str, children: int) -> list[uuid.UUID]:
    population = build_children(children, WorkingDayCalendar())
    rng = random.Random(7)
    iro_ids = [uuid.uuid4() for _ in range((children + CHILDREN_PER_IRO - 1) // CHILDREN_PER_IRO)]
    child_rows, episode_rows, review_rows, allocation_rows = [], [], [], []
    for index, child in enumerate(population):
        child_id = uuid.uuid4()
        first = child.episodes[0].start
        birth = date(first.year - rng.randint(1, 15), rng.randint(1, 12), rng.randint(1, 28))
        child_rows.append(
            (child_id, f"BENCH-{index}", "Given", f"Family{index}", birth, "female", 1)
        )
        for episode in child.episodes:
            episode_rows.append(
                (
                    uuid.uuid4(),
                    child_id,
                    episode.start,
                    episode.end,
                    episode.reason_new_episode or "P",
                    episode.legal_status,
                )
            )
        for review in child.reviews:
            review_rows.append(
                (
                    uuid.uuid4(),
                    child_id,
                    review.held_on,
                    review.series_started_on,
                    "PN1",
                    "bench",
                    1,
                )
            )
        allocation_rows.append(
            (uuid.uuid4(), child_id, iro_ids[index // CHILDREN_PER_IRO], first, "bench")
        )
    connection = await asyncpg.connect(dsn)
    try:
        await connection.copy_records_to_table(
            "iro",
            records=[
                (i, f"IRO {n}", f"iro{n}@bench.example", 1.0, date(2000, 1, 1), 1)
                for n, i in enumerate(iro_ids)
            ],
            columns=["id", "name", "email", "fte", "in_post_from", "version"],
        )
        await connection.copy_records_to_table(
            "child",
            records=child_rows,
            columns=[
                "id",
                "external_id",
                "given_name",
                "family_name",
                "date_of_birth",
                "sex",
                "version",
            ],
        )
        await connection.copy_records_to_table(
            "episode",
            records=episode_rows,
            columns=["id", "child_id", "start_on", "end_on", "reason_new_episode", "legal_status"],
        )
        await connection.copy_records_to_table(
            "review",
            records=review_rows,
            columns=[
                "id",
                "child_id",
                "held_on",
                "series_started_on",
                "participation_code",
                "created_by",
                "version",
            ],
        )
        await connection.copy_records_to_table(
            "allocation",
            records=allocation_rows,
            columns=["id", "child_id", "iro_id", "from_on", "created_by"],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    print(
        f"loaded {len(child_rows)} children, {len(episode_rows)} episodes, "
        f"{len(review_rows)} reviews, {len(iro_ids)} IROs"
    )
    return iro_ids


async def _iro_ids(dsn: str) -> list[uuid.UUID]:
    connection = await asyncpg.connect(dsn)
    try:
        return [row["id"] for row in await connection.fetch("SELECT id FROM iro ORDER BY name")]
    finally:
        await connection.close()


def _wait(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not become ready")


def measure(base: str, iro_ids: list[uuid.UUID], requests: int) -> tuple[list[float], list[int]]:
    headers = {"Authorization": f"Bearer {mint_dev_token(['iro'])}"}
    latencies, sizes = [], []
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        for n in range(requests + 20):
            iro_id = iro_ids[(n * 37) % len(iro_ids)]
            params = {"iro_id": str(iro_id), "as_at": AS_AT.isoformat(), "limit": 100}
            started = time.perf_counter()
            response = client.get("/reviews/v1/worklists/reviews-due", params=params)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if n >= 20:  # the first requests warm the connection pool
                latencies.append(elapsed)
                sizes.append(len(response.json()["items"]))
    return latencies, sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("IRO_BENCH_POSTGRES_URL") or os.environ.get("IRO_TEST_POSTGRES_URL"),
        help="an admin URL; a database is created for the run and dropped after",
    )
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database")
    parser.add_argument("--reuse", help="a database URL loaded by an earlier --keep run")
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("needs --postgres-url (or IRO_BENCH_POSTGRES_URL)")
    url = args.reuse or create_postgres_database(args.postgres_url)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    process = None
    try:
        if args.reuse:
            iro_ids = asyncio.run(_iro_ids(dsn))
        else:
            upgrade_to_head(SPEC.script_location, url)
            iro_ids = asyncio.run(load(dsn, args.children))
        port = 18_000 + random.randint(0, 999)
        env = {
            **os.environ,
            "REVIEWS_DATABASE_URL": url,
            "REVIEWS_ENVIRONMENT": "development",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "reviews_api", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/reviews/health/ready")
        latencies, sizes = measure(base, iro_ids, args.requests)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        if args.keep or args.reuse:
            print(f"database kept: {url}")
        else:
            drop_postgres_database(args.postgres_url, url)
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    result = {
        "benchmark": "GET /reviews/v1/worklists/reviews-due?iro_id= (one IRO, ~60 children)",
        "date": date.today().isoformat(),
        "machine_cores": os.cpu_count(),
        "python_version": platform.python_version(),
        "database": "PostgreSQL",
        "children": args.children,
        "children_per_iro": CHILDREN_PER_IRO,
        "requests": len(latencies),
        "mean_items_returned": round(statistics.mean(sizes), 1),
        "ms_p50": round(statistics.median(ordered), 2),
        "ms_p95": round(p95, 2),
        "ms_p99": round(ordered[int(0.99 * (len(ordered) - 1))], 2),
        "ms_max": round(ordered[-1], 2),
        "target_ms_p95": TARGET_P95_MS,
        "passed": p95 < TARGET_P95_MS,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
