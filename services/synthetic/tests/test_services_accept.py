"""Everything the generator makes is accepted by the services, through their own routes, and
its SSDA903 files import with no rejected row.

The load runs against the real system: the three services and both relays as processes of
their own (iro_local.topology, as the end-to-end tests and benchmarks start them), behind nginx
from deploy/gateway, on PostgreSQL when IRO_TEST_POSTGRES_URL is set and SQLite otherwise.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from iro_kit.testing import bearer, postgres_admin_url, skip_unless_available
from iro_local.topology import (
    SERVICES,
    NginxMissing,
    Topology,
    create_databases,
    drop_databases,
    start_gateway,
    upgrade_databases,
)
from iro_synthetic.load import load
from iro_synthetic.model import generate
from iro_synthetic.ssda903 import latest_year_end, write_return
from reviews_api.imports.cli import main as import_903

END = date(2026, 11, 30)
CHILDREN = 90


def _token(role: str) -> str:
    return bearer(role)["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def gateway_url(tmp_path: Path) -> Iterator[str]:
    admin = postgres_admin_url()
    urls = create_databases([s.module for s in SERVICES], admin, tmp_path)
    topology = Topology.scorecard(tmp_path, urls)
    try:
        upgrade_databases(urls)
        for info in SERVICES:
            topology.serve(info.module, wait="ready")
        topology.relay("reviews_api")
        topology.relay("drp_api")
        upstreams = {
            f"{info.env_prefix}UPSTREAM": f"127.0.0.1:{topology.ports[info.module]}"
            for info in SERVICES
        }
        (tmp_path / "gateway").mkdir()
        try:
            with start_gateway(tmp_path / "gateway", upstreams, rate=10_000) as gateway:
                yield gateway.url
        except NginxMissing:
            skip_unless_available("nginx", "needs nginx (apt-get install nginx-light)")
    finally:
        topology.stop_all(kill=True)
        drop_databases(admin, urls.values())


def _total(client: httpx.Client, path: str, role: str) -> int:
    response = client.get(path, params={"count": "true", "limit": 1}, headers=bearer(role))
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def test_the_services_accept_everything_the_generator_makes(gateway_url: str) -> None:
    authority = generate(5, CHILDREN, 5, END)
    with httpx.Client(base_url=gateway_url, timeout=60) as client:
        loaded = load(client, authority, _token)  # raises on any answer but the one expected
        reviews = sum(len(c.reviews) for c in authority.children)
        visits = sum(len(c.visits) for c in authority.children)
        assert loaded.counts["review"] == reviews > 300
        assert loaded.counts["visit"] == visits
        assert loaded.counts["dispute"] == len(authority.disputes) > 5
        assert _total(client, "/reviews/v1/children", "iro_manager") == CHILDREN
        assert _total(client, "/drp/v1/disputes", "iro_manager") == len(authority.disputes)
        # What reviews-api says of each review is what the generator planned: held in
        # timescale or late, against the same due date.
        for n in range(0, CHILDREN, 9):
            child, child_id = authority.children[n], loaded.child_ids[n]
            got = client.get(f"/reviews/v1/children/{child_id}/reviews", headers=bearer("iro"))
            assert got.status_code == 200, got.text
            held = sorted(
                (r["held_on"], r["in_timescale"], r["due_by"], r["late_reason"]) for r in got.json()
            )
            planned = sorted(
                (r.held_on.isoformat(), r.in_timescale, r.due_by.isoformat(), r.late_reason)
                for r in child.reviews
            )
            assert held == planned
        # The scorecard heard of it all through the events.
        deadline = time.monotonic() + 60
        while True:
            card = client.get(
                "/scorecard/v1/scorecard",
                params={"as_at": END.isoformat()},
                headers=bearer("performance"),
            )
            assert card.status_code == 200, card.text
            kpis = {k["code"]: k for k in card.json()["columns"][0]["kpis"]}
            looked_after = len(
                [
                    c
                    for c in authority.children
                    if (e := c.looked_after_on(END)) and e.legal_status not in ("V3", "V4")
                ]
            )
            if kpis["care_plan_up_to_date"]["denominator"] == looked_after:
                break
            assert time.monotonic() < deadline, kpis["care_plan_up_to_date"]
            time.sleep(0.5)
        on_end = [c.looked_after_on(END) for c in authority.children]
        section_20 = sum(1 for e in on_end if e is not None and e.legal_status == "V2")
        assert kpis["section_20"]["numerator"] == section_20


def _problems(report: Path) -> list[dict[str, str]]:
    with report.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("children", [5000])
def test_its_903_returns_import_with_no_rejected_row(
    children: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    authority = generate(9, children, 5, END)
    admin = postgres_admin_url()
    latest = latest_year_end(authority)
    for year_end in range(latest - 4, latest + 1):
        folder = tmp_path / str(year_end)
        rows = write_return(authority, folder, year_end)
        assert rows["header"] > 0.3 * children and rows["reviews"] > rows["header"]
        urls = create_databases(["reviews_api"], admin, tmp_path / str(year_end))
        try:
            upgrade_databases(urls)
            report = tmp_path / f"problems-{year_end}.csv"
            code = import_903(
                [
                    str(folder),
                    "--database-url",
                    urls["reviews_api"],
                    "--collection-year",
                    str(year_end),
                    "--errors-csv",
                    str(report),
                ]
            )
            assert code == 0, capsys.readouterr().out[-3000:]
            assert _problems(report) == [], f"{year_end}: {_problems(report)[:5]}"
        finally:
            drop_databases(admin, urls.values())
