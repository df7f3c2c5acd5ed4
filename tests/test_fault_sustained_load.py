"""Three minutes of mixed load through the gateway: no 5xx, and memory that levels off.

30 operations a second is what this 2-core machine holds with the three services, PostgreSQL,
nginx and the load generator on it (p95 well under a second). Memory is measured as resident
set size from /proc; the first 30 s are warm-up (caches, prepared statements, pools filling)
and growth is counted from there. The bound, 40 MiB per service, is far above what a steady
service moves (a few MiB) and far below what a leak per request would add over ~5,000 requests.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from .fault_load import Load
from .faults import fault_topology, require_fault_environment, rss_of, summarise

RATE = 30
SECONDS = 180.0
WARM_UP = 30.0
SAMPLE_EVERY = 10.0
RSS_GROWTH_BOUND_MIB = 40.0


@pytest.fixture(autouse=True)
def _needs_postgres_and_nginx() -> None:
    require_fault_environment()


async def _scenario(gateway_url: str, services) -> tuple[Load, float, list]:  # type: ignore[no-untyped-def]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    samples: list[tuple[float, dict[str, float]]] = []
    async with httpx.AsyncClient(base_url=gateway_url, timeout=60, limits=limits) as client:
        load = Load(client)
        # Raises are 8% of operations: twice what the run should need, and some to spare.
        await load.announce_people(services["drp_api"].url, int(SECONDS * RATE * 0.16) + 100)
        started = time.monotonic()
        loader = asyncio.create_task(load.run(SECONDS, RATE))
        while not loader.done():
            samples.append((round(time.monotonic() - started, 1), rss_of(services)))
            await asyncio.wait({loader}, timeout=SAMPLE_EVERY)
        await loader
        duration = time.monotonic() - started
        samples.append((round(duration, 1), rss_of(services)))
    return load, duration, samples


def test_three_minutes_of_mixed_load_has_no_5xx_and_bounded_memory(tmp_path: Path) -> None:
    with fault_topology(tmp_path) as (_cluster, services, gateway):
        load, duration, samples = asyncio.run(_scenario(gateway.url, services))
    after_warm_up = next(rss for at, rss in samples if at >= WARM_UP)
    final = samples[-1][1]
    growth = {name: round(final[name] - after_warm_up[name], 1) for name in final}
    figures = summarise(
        "fault_sustained_load",
        load.records,
        duration,
        target_rate_per_second=RATE,
        skipped_ticks=load.skipped,
        rss_growth_after_warm_up_mib=growth,
        rss_growth_bound_mib=RSS_GROWTH_BOUND_MIB,
        writes=len(load.writes),
    )
    figures.rss_mib = {"start": samples[0][1], "after_warm_up": after_warm_up, "end": final}
    figures.extra["rss_samples"] = samples
    figures.write(tmp_path)

    server_errors = {s: n for s, n in figures.by_status.items() if s.startswith("5")}
    assert not server_errors, figures.by_status
    failures = [r for r in load.records if r.status == 0 or r.problem]
    assert not failures, failures[:10]
    assert figures.achieved_rate_per_second >= 0.9 * RATE, "the machine did not hold the rate"
    for name, grown in growth.items():
        assert grown < RSS_GROWTH_BOUND_MIB, f"{name} grew {grown} MiB after warm-up"
