"""Latency of one IRO's due-soon worklist on PostgreSQL with 100,000 children loaded.

Loads the synthetic population of schedule_bench.py (same seed) into a fresh PostgreSQL
database through the service's own migrations, allocates the children to IROs 60 at a time,
starts reviews-api as its own process (uvicorn, as deployed), and times
`GET /reviews/v1/worklists/reviews-due?iro_id=...` over loopback with a real token, cycling
through the IROs. Writes bench/results/worklist.json. Target: p95 under 25 ms.

Also, in the same run: the whole authority's worklist (no `iro_id`, `--whole-requests`
times), and with `--wrk-seconds N` a concurrent mode: wrk with 16 connections for N seconds
each through nginx (the deploy/gateway templates, `iro_local.topology.start_gateway`) against
reviews-api, for the one-IRO worklist (cycling IROs), the child schedule read
(`GET /reviews/v1/children/{id}/schedule`, cycling children) and the child record read
(`GET /reviews/v1/children/{id}`: the service's floor, one row behind the token check, the
middleware and the audit record every read of a child writes), and as the baseline a bare
FastAPI endpoint doing one primary-key query (async SQLAlchemy, the same database, the same
uvicorn settings and connection pool) behind the same nginx at the same concurrency: rps and
p50/p95/p99.

    uv run python bench/worklist_bench.py --postgres-url postgresql://postgres@127.0.0.1:54329/postgres
    uv run python bench/worklist_bench.py --children 10000 --wrk-seconds 5   # needs wrk, nginx
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
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
from reviews_api.app import SPEC, create_app
from reviews_api.rules_state import describe, fingerprint
from reviews_api.settings import Settings

CHILDREN_PER_IRO = 60
WRK_CONNECTIONS = 16
BARE_PREFIX = "/drp/bare"  # served by the bare app, which the gateway's DRP upstream points at
TARGET_P95_MS = 25.0
RESULTS = Path(__file__).parent / "results" / "worklist.json"


async def load(dsn: str, children: int) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
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
    return iro_ids, [row[0] for row in child_rows]


async def record_rules(dsn: str, url: str) -> None:
    """Record the rules in force as those the stored chains were computed under, as a service
    that had loaded the data would have. The loaded reviews carry no stored chain, and the
    worklists never read one (they compute each schedule from the facts), but without the
    record the server's first start recomputes every chain before it serves
    (reviews_api.rules_state): minutes at 100,000 children, which is not what is measured."""
    app = create_app(Settings(database_url=url, environment="development"))
    description = describe(app.state.schedule_rules)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO schedule_rules_state (id, fingerprint, rules, recomputed_at)"
            " VALUES (1, $1, $2::json, now())",
            fingerprint(description),
            json.dumps(description),
        )
    finally:
        await connection.close()


async def _ids(dsn: str) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    connection = await asyncpg.connect(dsn)
    try:
        iros = [row["id"] for row in await connection.fetch("SELECT id FROM iro ORDER BY name")]
        children = [row["id"] for row in await connection.fetch("SELECT id FROM child")]
        return iros, children
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


def whole_authority(base: str, requests: int) -> dict[str, float]:
    """The whole authority's due-soon worklist (no iro_id, first page of 100), one at a time."""
    headers = {"Authorization": f"Bearer {mint_dev_token(['iro'])}"}
    params = {"as_at": AS_AT.isoformat(), "limit": 100}
    latencies = []
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for n in range(requests + 2):
            started = time.perf_counter()
            response = client.get("/reviews/v1/worklists/reviews-due", params=params)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if n >= 2:
                latencies.append(elapsed)
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "ms_p50": round(statistics.median(ordered), 1),
        "ms_p95": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "ms_max": round(ordered[-1], 1),
    }


# --- the concurrent mode: wrk through nginx -------------------------------------------------

_WRK_LUA = """
local paths = {%(paths)s}
local n = 0
wrk.headers["Authorization"] = "%(auth)s"
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, ' ..
    '"p99_us": %%d, "max_us": %%d, "non_2xx": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout))
end
"""


def run_wrk(url: str, paths: list[str], seconds: int, directory: Path, name: str) -> dict:
    """wrk with WRK_CONNECTIONS connections (2 threads) for `seconds`, cycling `paths`."""
    script = directory / f"{name}.lua"
    auth = f"Bearer {mint_dev_token(['iro'])}"
    script.write_text(_WRK_LUA % {"paths": ", ".join(json.dumps(p) for p in paths), "auth": auth})
    command = [
        "wrk",
        f"-c{WRK_CONNECTIONS}",
        "-t2",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    return {
        "connections": WRK_CONNECTIONS,
        "seconds": seconds,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "ms_p50": round(raw["p50_us"] / 1000, 2),
        "ms_p95": round(raw["p95_us"] / 1000, 2),
        "ms_p99": round(raw["p99_us"] / 1000, 2),
        "ms_max": round(raw["max_us"] / 1000, 2),
        "non_2xx": raw["non_2xx"],
        "socket_errors": raw["socket_errors"],
    }


def bare_app(database_url: str):
    """The baseline endpoint: one primary-key query on the same database, async SQLAlchemy."""
    from fastapi import FastAPI, HTTPException
    from sqlalchemy import text

    from iro_kit.db import create_engine

    # The service's connection pool (its settings' defaults), so neither opens connections
    # per request at this concurrency: the default 5 + 10 would, and the baseline would be slow.
    fields = Settings.model_fields
    engine = create_engine(
        database_url,
        pool_size=fields["database_pool_size"].default,
        max_overflow=fields["database_max_overflow"].default,
    )
    app = FastAPI()
    query = text("SELECT id, external_id, date_of_birth FROM child WHERE id = :id")

    @app.get(BARE_PREFIX + "/{child_id}")
    async def one_child(child_id: uuid.UUID) -> dict[str, str]:
        async with engine.connect() as connection:
            row = (await connection.execute(query, {"id": child_id})).first()
        if row is None:
            raise HTTPException(404)
        return {"id": str(row.id), "external_id": row.external_id, "born": str(row.date_of_birth)}

    return app


def serve_bare(port: int, database_url: str) -> None:
    import uvicorn

    # The settings iro_kit.runner.service_main gives every service.
    uvicorn.run(
        bare_app(database_url),
        host="127.0.0.1",
        port=port,
        workers=1,
        access_log=False,
        log_config=None,
        proxy_headers=True,
    )


def concurrent(
    url: str, reviews_port: int, iro_ids: list[uuid.UUID], child_ids: list[uuid.UUID], seconds: int
) -> dict[str, object]:
    from iro_local.topology import free_port, start_gateway, wait_until

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (or pass --wrk-seconds 0)")
    bare_port = free_port()
    bare = subprocess.Popen(
        [sys.executable, __file__, "--serve-bare", str(bare_port), "--database-url", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            gateway_dir = directory / "gateway"
            gateway_dir.mkdir()
            upstreams = {
                "REVIEWS_UPSTREAM": f"127.0.0.1:{reviews_port}",
                "DRP_UPSTREAM": f"127.0.0.1:{bare_port}",
                "SCORECARD_UPSTREAM": f"127.0.0.1:{bare_port}",
            }
            wait_until(f"http://127.0.0.1:{bare_port}{BARE_PREFIX}/{child_ids[0]}")
            with start_gateway(gateway_dir, upstreams, rate=100_000) as gateway:
                as_at = AS_AT.isoformat()
                rng = random.Random(11)
                children = rng.sample(child_ids, min(len(child_ids), 5_000))
                worklist = [
                    f"/reviews/v1/worklists/reviews-due?iro_id={i}&as_at={as_at}&limit=100"
                    for i in iro_ids
                ]
                schedule = [f"/reviews/v1/children/{c}/schedule?as_at={as_at}" for c in children]
                record = [f"/reviews/v1/children/{c}" for c in children]
                bare_paths = [f"{BARE_PREFIX}/{c}" for c in children]
                found = {}
                for name, paths in (
                    ("bare_pk", bare_paths),
                    ("worklist_one_iro", worklist),
                    ("child_schedule", schedule),
                    ("child_read", record),
                ):
                    run_wrk(gateway.url, paths, 1, directory, name)  # warm up
                    found[name] = run_wrk(gateway.url, paths, seconds, directory, name)
                    print(f"wrk {name}: {found[name]}", flush=True)
    finally:
        bare.terminate()
        bare.wait(timeout=10)
    base = found["bare_pk"]["rps"]
    return {
        "through": "nginx (deploy/gateway templates, rate limit 100000 r/s) -> uvicorn, 1 worker",
        "tool": f"wrk -c{WRK_CONNECTIONS} -t2, a Lua script cycling the paths",
        **found,
        "rps_ratio_bare_to_worklist": round(base / found["worklist_one_iro"]["rps"], 1),
        "rps_ratio_bare_to_schedule": round(base / found["child_schedule"]["rps"], 1),
        "rps_ratio_bare_to_child_read": round(base / found["child_read"]["rps"], 1),
    }


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
    parser.add_argument(
        "--whole-requests", type=int, default=10, help="whole-authority worklists (no iro_id)"
    )
    parser.add_argument(
        "--wrk-seconds", type=int, default=0, help="the concurrent mode, seconds per endpoint"
    )
    parser.add_argument("--json-out", type=Path, default=RESULTS, help="where to write results")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.database_url)
        return 0
    if not args.postgres_url and not args.reuse:
        parser.error("needs --postgres-url (or IRO_BENCH_POSTGRES_URL)")
    url = args.reuse or create_postgres_database(args.postgres_url)
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    process = None
    wrk = None
    try:
        if args.reuse:
            iro_ids, child_ids = asyncio.run(_ids(dsn))
        else:
            upgrade_to_head(SPEC.script_location, url)
            iro_ids, child_ids = asyncio.run(load(dsn, args.children))
            asyncio.run(record_rules(dsn, url))
        from iro_local.topology import free_port

        port = free_port()
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
        whole = whole_authority(base, args.whole_requests)
        if args.wrk_seconds:
            wrk = concurrent(url, port, iro_ids, child_ids, args.wrk_seconds)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
        if args.keep or args.reuse or not args.postgres_url:
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
        "whole_authority": whole,
        "concurrent": wrk,
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
