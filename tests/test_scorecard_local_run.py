"""`make run`: the one-process system delivers reviews-api's and drp-api's events to the
scorecard through its in-process relays, so what is entered appears in the scorecard."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from iro_kit.testing import bearer

from .conftest import free_port, wait_until

INTEGRATION = bearer("integration", subject="lcs")
MANAGER = bearer("iro_manager", subject="manager-1")
IRO = bearer("iro", subject="iro-1", name="Alex Morgan")
PERFORMANCE = bearer("performance", subject="perf-1")


@pytest.fixture
def local_run(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        **{
            f"{prefix}_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / name}.db"
            for prefix, name in (("REVIEWS", "reviews"), ("DRP", "drp"), ("SCORECARD", "scorecard"))
        },
        "IRO_DEMO": "off",  # the figures below are of this test's cohort alone
        "REVIEWS_RELAY_POLL_SECONDS": "0.05",
        "DRP_RELAY_POLL_SECONDS": "0.05",
    }
    for name in ("REVIEWS_EVENT_ROUTES", "DRP_EVENT_ROUTES", "SCORECARD_PRODUCER_URLS"):
        env.pop(name, None)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "iro_local.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(f"{base}/scorecard/health/ready", timeout=60)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _eventually(read: Any, expected: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = read()
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def _post(client: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_entries_in_reviews_and_drp_reach_the_scorecard_within_seconds(local_run: str) -> None:
    with httpx.Client(base_url=local_run, timeout=10) as client:
        iro = _post(
            client,
            "/reviews/v1/iros",
            {
                "name": "Alex Morgan",
                "email": "alex@la.example",
                "fte": 1,
                "start_on": "2015-01-01",
            },
            MANAGER,
        )
        child = _post(
            client,
            "/reviews/v1/children",
            {
                "external_id": "LCS-1",
                "given_name": "Sam",
                "family_name": "Taylor",
                "date_of_birth": "2008-03-10",
                "sex": "female",
            },
            INTEGRATION,
        )
        episode = {"start_on": "2017-04-03", "reason_new_episode": "S", "legal_status": "V2"}
        _post(client, f"/reviews/v1/children/{child['id']}/episodes", episode, INTEGRATION)
        held = {"held_on": "2017-05-02", "participation_code": "PN1"}
        _post(client, f"/reviews/v1/children/{child['id']}/reviews", held, IRO)

        def figures() -> dict[str, Any]:
            response = client.get(
                "/scorecard/v1/scorecard", params={"as_at": "2017-05-31"}, headers=PERFORMANCE
            )
            assert response.status_code == 200, response.text
            kpis = response.json()["columns"][0]["kpis"]
            return {k["code"]: (k["numerator"], k["denominator"]) for k in kpis}

        wanted = {"reviews_in_timescale": (1, 1), "participation": (1, 1), "section_20": (1, 1)}
        seen = _eventually(lambda: {c: figures()[c] for c in wanted}, wanted)
        assert seen == wanted

        # drp-api's copy of the child and IRO arrives by events too; then a dispute is raised.
        def raise_dispute() -> int:
            body = {
                "child_id": child["id"],
                "category": "lac",
                "iro_id": iro["id"],
                "raised_on": "2017-05-10",
                "themes": ["drift_and_delay"],
                "issue": "No permanence plan.",
                "outcome_sought": "A plan by the next review.",
                "asked": {"name": "Jo Bloggs", "role": "Team manager"},
            }
            return client.post("/drp/v1/disputes", json=body, headers=IRO).status_code

        assert _eventually(raise_dispute, 201) == 201
        sources = _eventually(
            lambda: sorted(client.get("/scorecard/v1/freshness", headers=PERFORMANCE).json()),
            ["drp-api", "reviews-api"],
        )
        assert sources == ["drp-api", "reviews-api"]
