"""The audit trail (issue 10): a drill-down names every child it shows.

Recorded in the request's transaction, queried by managers and admins, refused UPDATE and
DELETE by the database even through the service's own session, and never in the logs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer
from scorecard_api.app import SPEC, create_app
from scorecard_api.settings import Settings

from .conftest import ADMIN, MANAGER, PERFORMANCE, V1, Producer

AS_AT = "2017-03-31"
DRILL = f"{V1}/kpis/section_20/children"
BORN = "2011-02-03"


@pytest.fixture
def audited(database_url: str) -> Iterator[TestClient]:
    """The service at DEBUG, so that anything it logs at all is in the captured output."""
    upgrade_to_head(SPEC.script_location, database_url)
    with TestClient(create_app(Settings(database_url=database_url, log_level="DEBUG"))) as client:
        yield client


def _children(client: TestClient, count: int) -> set[str]:
    producer = Producer(client)
    ids = [uuid.uuid4() for _ in range(count)]
    for n, child_id in enumerate(ids):
        status = "V2" if n % 2 else "C2"
        producer.child(
            child_id, BORN, [("2016-01-04", None, status, "S")], name=f"Zephyrine Quill{n}"
        )
    return {str(i) for i in ids}


def _trail(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"{V1}/audit", params={"limit": "500", **params}, headers=MANAGER)
    assert response.status_code == 200, response.text
    return [r for r in response.json()["items"] if r["resource_type"] != "audit"]


def test_a_drill_down_records_every_child_it_shows(audited: TestClient) -> None:
    everyone = _children(audited, 120)
    page = audited.get(
        DRILL,
        params={"as_at": AS_AT, "limit": "50"},
        headers={**PERFORMANCE, "X-Request-ID": "drill-page"},
    )
    assert page.status_code == 200, page.text
    shown = {row["child_id"] for row in page.json()["items"]}
    assert len(shown) == 50
    export = audited.get(
        DRILL,
        params={"as_at": AS_AT, "format": "csv"},
        headers={**PERFORMANCE, "X-Request-ID": "drill-csv"},
    )
    assert export.status_code == 200, export.text
    assert audited.get(f"{V1}/scorecard", params={"as_at": AS_AT}, headers=PERFORMANCE).is_success

    trail = {r["request_id"]: r for r in _trail(audited, subject="perf-1")}
    assert set(trail) == {"drill-page", "drill-csv"}  # the scorecard's figures name nobody
    drill = trail["drill-page"]
    assert (drill["action"], drill["roles"]) == ("read", ["performance"])
    assert drill["route"] == "/scorecard/v1/kpis/{code}/children"
    assert (drill["resource_type"], drill["resource_id"]) == ("kpi", "section_20")
    assert set(drill["child_ids"]) == shown
    assert set(trail["drill-csv"]["child_ids"]) == everyone  # a file holds every row
    one = next(iter(shown))
    by_child = _trail(audited, child_id=one)
    assert {r["request_id"] for r in by_child} == {"drill-page", "drill-csv"}


def test_the_service_cannot_change_or_delete_its_audit_records(audited: TestClient) -> None:
    _children(audited, 2)
    audited.get(DRILL, params={"as_at": AS_AT}, headers=PERFORMANCE)

    async def run(statement: str) -> None:
        async with audited.app.state.database.transaction() as session:  # type: ignore[attr-defined]
            await session.execute(text(statement))

    for table in ("audit_record", "audit_record_child"):
        for statement in (f"UPDATE {table} SET at = at", f"DELETE FROM {table}"):  # noqa: S608
            with pytest.raises(DBAPIError, match="append-only"):
                audited.portal.call(run, statement)  # type: ignore[union-attr]
    assert len(_trail(audited)) == 1


def test_only_managers_and_admins_read_the_trail(audited: TestClient) -> None:
    for role in ("iro", "business_support", "performance", "integration"):
        assert audited.get(f"{V1}/audit", headers=bearer(role)).status_code == 403, role
    assert audited.get(f"{V1}/audit", headers=ADMIN).status_code == 200


def test_the_logs_never_hold_a_childs_name_or_date_of_birth(
    audited: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    _children(audited, 3)
    audited.get(DRILL, params={"as_at": AS_AT}, headers=PERFORMANCE)
    audited.get(DRILL, params={"as_at": AS_AT, "format": "xlsx"}, headers=PERFORMANCE)
    audited.get(f"{V1}/audit", headers=MANAGER)
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    routes = {line.get("route") for line in lines if line.get("event") == "request"}
    assert {"/scorecard/v1/kpis/{code}/children", "/scorecard/v1/audit"} <= routes
    for secret in ("Zephyrine", "Quill", BORN):
        assert secret not in captured.out + captured.err, secret
