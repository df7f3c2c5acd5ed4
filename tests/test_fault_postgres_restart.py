"""PostgreSQL restarted (fast, then immediate) under a mixed load through the gateway.

Issue 10 saw 23 of 52 failures in a fast restart and 99 of 130 in an immediate one answered
500 without `Retry-After`. Here: readiness goes 503 and recovers, no 500 at all, every failure
is a 503 problem with `Retry-After` from the service itself, every acknowledged write is there
afterwards, and no failed write is there twice or in part.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from .fault_load import IRO, Load, verify
from .faults import fault_topology, readiness, require_fault_environment, rss_of, summarise

RATE = 25  # operations per second, reads and writes mixed
WARM_UP = 5.0
AFTER_EACH_RESTART = 10.0


@pytest.fixture(autouse=True)
def _needs_postgres_and_nginx() -> None:
    require_fault_environment()


async def _watch_readiness(
    gateway_url: str, stop: asyncio.Event, seen: list[tuple[float, str, int]]
) -> None:
    """Poll every service's health/ready at 10 Hz, keeping (time, service, status)."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
        while not stop.is_set():
            for prefix in ("/reviews", "/drp", "/scorecard"):
                try:
                    status = (await client.get(f"{prefix}/health/ready")).status_code
                except httpx.HTTPError:
                    status = 0
                seen.append((time.monotonic(), prefix, status))
            await asyncio.sleep(0.1)


async def _scenario(cluster, gateway, services) -> dict[str, object]:  # type: ignore[no-untyped-def]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=60, limits=limits) as client:
        load = Load(client)
        # Raises are 8% of operations: twice what the run should need, and some to spare.
        total_seconds = WARM_UP + 2 * AFTER_EACH_RESTART
        await load.announce_people(services["drp_api"].url, int(total_seconds * RATE * 0.16) + 100)
        stop = asyncio.Event()
        seen: list[tuple[float, str, int]] = []
        watcher = asyncio.create_task(_watch_readiness(gateway.url, stop, seen))
        started = time.monotonic()
        total = WARM_UP + 2 * AFTER_EACH_RESTART
        loader = asyncio.create_task(load.run(total, RATE))
        windows: dict[str, tuple[float, float]] = {}
        await asyncio.sleep(WARM_UP)
        for mode in ("fast", "immediate"):
            begun = time.monotonic()
            took = await asyncio.to_thread(cluster.pg_ctl, "restart", "-m", mode)
            windows[mode] = (begun, begun + took)
            await asyncio.sleep(max(0.0, begun + AFTER_EACH_RESTART - time.monotonic()))
        await loader
        duration = time.monotonic() - started
        await asyncio.sleep(2.0)  # readiness settles after the last restart
        stop.set()
        await watcher
        problems, committed_unanswered = await verify(client, load)
        schedules = [
            (await client.get(f"/reviews/v1/children/{child.id}/schedule", headers=IRO)).status_code
            for child in load.children
        ]
    return {
        "load": load,
        "duration": duration,
        "seen": seen,
        "windows": windows,
        "problems": problems,
        "committed_unanswered": committed_unanswered,
        "schedules": schedules,
    }


def test_postgres_restart_under_load_gives_only_503s_and_loses_nothing(
    tmp_path: Path,
) -> None:
    with fault_topology(tmp_path) as (cluster, services, gateway):
        rss_before = rss_of(services)
        outcome = asyncio.run(_scenario(cluster, gateway, services))
        rss_after = rss_of(services)
        final_readiness = readiness(gateway)
    load: Load = outcome["load"]  # type: ignore[assignment]
    records = load.records
    windows: dict[str, tuple[float, float]] = outcome["windows"]  # type: ignore[assignment]
    seen: list[tuple[float, str, int]] = outcome["seen"]  # type: ignore[assignment]
    not_ready = {
        mode: sorted({p for t, p, s in seen if s == 503 and begun - 0.5 <= t <= end + 3.0})
        for mode, (begun, end) in windows.items()
    }
    failed_writes = [w for w in load.writes if w.status != 201]
    figures = summarise(
        "fault_postgres_restart",
        records,
        outcome["duration"],  # type: ignore[arg-type]
        restart_seconds={m: round(e - b, 2) for m, (b, e) in windows.items()},
        writes=len(load.writes),
        writes_acknowledged=len(load.writes) - len(failed_writes),
        writes_failed=len(failed_writes),
        failed_writes_that_committed=outcome["committed_unanswered"],
        not_ready_during_restart=not_ready,
        final_readiness=final_readiness,
        skipped_ticks=load.skipped,
    )
    figures.rss_mib = {"before": rss_before, "after": rss_after}
    figures.write(tmp_path)

    assert figures.by_status.get("500", 0) == 0, figures.by_status
    faults = [r for r in records if r.status == 0 or r.problem]
    assert not faults, faults[:10]
    assert set(figures.by_status) <= {"200", "201", "503"}, figures.by_status
    assert figures.by_status.get("503", 0) > 0, "the restarts never reached a request"
    for mode, prefixes in not_ready.items():
        assert prefixes, f"health/ready never went 503 during the {mode} restart"
    assert set(final_readiness.values()) == {200}, final_readiness
    assert outcome["problems"] == [], outcome["problems"]
    assert set(outcome["schedules"]) <= {200}, outcome["schedules"]  # type: ignore[arg-type]
    assert len(load.writes) - len(failed_writes) > 50, "too few writes to mean anything"
