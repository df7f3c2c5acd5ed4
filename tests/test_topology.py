"""iro_local.topology: the environment it builds, and one event over real HTTP on SQLite."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path

import httpx

from iro_kit.testing import bearer
from iro_local.cli import REVIEWS_EVENT_TYPES
from iro_local.topology import (
    RELAY_TUNING,
    Route,
    Topology,
    create_databases,
    upgrade_databases,
)

SUPPORT = bearer("business_support")


def _added(env: dict[str, str]) -> dict[str, str]:
    """What the topology puts into the environment on top of this process's."""
    return {name: value for name, value in env.items() if os.environ.get(name) != value}


def test_the_scorecard_topology_routes_each_producer_to_its_consumers(tmp_path: Path) -> None:
    urls = {m: f"sqlite+aiosqlite:///{tmp_path}/{m}.db" for m in ("reviews_api", "drp_api")}
    urls["scorecard_api"] = "postgresql+asyncpg://postgres@127.0.0.1:1/scorecard"
    topology = Topology.scorecard(tmp_path, urls)
    reviews, drp, scorecard = (topology.ports[m] for m in urls)
    assert len({reviews, drp, scorecard}) == 3
    env = _added(topology.env())
    assert json.loads(env.pop("REVIEWS_EVENT_ROUTES")) == [
        {
            "subscriber": "drp-api",
            "url": f"http://127.0.0.1:{drp}/drp/events",
            "types": ["child.changed", "iro.changed"],
        },
        {
            "subscriber": "scorecard-api",
            "url": f"http://127.0.0.1:{scorecard}/scorecard/events",
            "types": REVIEWS_EVENT_TYPES,
        },
    ]
    assert json.loads(env.pop("DRP_EVENT_ROUTES")) == [
        {
            "subscriber": "scorecard-api",
            "url": f"http://127.0.0.1:{scorecard}/scorecard/events",
            "types": ["dispute.changed"],
        }
    ]
    assert json.loads(env.pop("SCORECARD_PRODUCER_URLS")) == {
        "reviews-api": f"http://127.0.0.1:{reviews}/reviews",
        "drp-api": f"http://127.0.0.1:{drp}/drp",
    }
    relay = {
        "RELAY_IN_PROCESS": "false",
        "RELAY_POLL_SECONDS": "0.05",
        "RELAY_BACKOFF_BASE_SECONDS": "0.05",
        "RELAY_BACKOFF_CAP_SECONDS": "0.5",
        "RELAY_MAX_ATTEMPTS": "1000",
    }
    assert env == {
        "REVIEWS_DATABASE_URL": urls["reviews_api"],
        "DRP_DATABASE_URL": urls["drp_api"],
        "SCORECARD_DATABASE_URL": urls["scorecard_api"],
        **{f"REVIEWS_{name}": value for name, value in relay.items()},
        **{f"DRP_{name}": value for name, value in relay.items()},
    }


def test_a_subset_sets_only_its_own_routes_and_tuning(tmp_path: Path) -> None:
    """The relay bench's shape: reviews-api to drp-api, iro.changed only, no tuning."""
    urls = {"reviews_api": "sqlite+aiosqlite:///r.db", "drp_api": "sqlite+aiosqlite:///d.db"}
    topology = Topology(None, urls, routes=[Route("reviews_api", "drp_api", ("iro.changed",))])
    drp = topology.ports["drp_api"]
    assert _added(topology.env()) == {
        "REVIEWS_DATABASE_URL": "sqlite+aiosqlite:///r.db",
        "DRP_DATABASE_URL": "sqlite+aiosqlite:///d.db",
        "REVIEWS_EVENT_ROUTES": json.dumps(
            [
                {
                    "subscriber": "drp-api",
                    "url": f"http://127.0.0.1:{drp}/drp/events",
                    "types": ["iro.changed"],
                }
            ]
        ),
    }


def _applied(metrics: str) -> float:
    pattern = r'inbox_events_total\{status="applied",type="child\.changed"\} ([0-9.e+]+)'
    match = re.search(pattern, metrics)
    return float(match.group(1)) if match else 0.0


def test_a_child_made_in_reviews_api_reaches_drp_api_through_the_relay_process(
    tmp_path: Path,
) -> None:
    urls = create_databases(["reviews_api", "drp_api"], None, tmp_path)
    upgrade_databases(urls)
    topology = Topology(
        tmp_path,
        urls,
        routes=[Route("reviews_api", "drp_api", ("child.changed",))],
        relay_env=RELAY_TUNING,
        relay_in_process=False,  # only the relay process can deliver
    )
    try:
        topology.serve("drp_api")
        topology.serve("reviews_api")
        body = {
            "external_id": "LCS-T1",
            "given_name": "Tess",
            "family_name": "Ward",
            "date_of_birth": "2012-05-04",
            "sex": "female",
        }
        created = httpx.post(
            f"{topology.base('reviews_api')}/v1/children", json=body, headers=SUPPORT, timeout=10
        )
        assert created.status_code == 201, created.text
        time.sleep(1.0)  # no relay yet: nothing may arrive
        metrics = f"{topology.base('drp_api')}/metrics"
        assert _applied(httpx.get(metrics).text) == 0
        topology.relay("reviews_api")
        deadline = time.monotonic() + 30
        while _applied(httpx.get(metrics).text) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _applied(httpx.get(metrics).text) == 1, topology.logs()
        drp_file = urls["drp_api"].split("///", 1)[1]
        with sqlite3.connect(drp_file) as connection:
            rows = connection.execute(
                "SELECT external_id, name, date_of_birth, deleted, version FROM child_copy"
            ).fetchall()
        assert rows == [("LCS-T1", "Tess Ward", "2012-05-04", 0, 1)]
    finally:
        topology.stop_all(timeout=10)
    assert all(process.returncode is not None for process in topology.processes)
    assert [p.name for p in sorted(tmp_path.glob("*.log"))] == [
        "drp_api-serve.log",
        "reviews_api-relay.log",
        "reviews_api-serve.log",
    ]
