"""The audit trail (issue 10): every read of a dispute names its child, every change is kept.

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

from drp_api.app import SPEC, create_app
from drp_api.settings import Settings
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer

from .conftest import ALEX, IRO, MANAGER, V1, Disputes, announce, raise_body

CHILD = {"id": str(uuid.uuid4()), "external_id": "LCS-AUDIT-7", "name": "Zephyrine Quillfeather"}
ADMIN = bearer("admin", subject="admin-1")


@pytest.fixture
def audited(database_url: str) -> Iterator[TestClient]:
    """The service at DEBUG, so that anything it logs at all is in the captured output."""
    upgrade_to_head(SPEC.script_location, database_url)
    settings = Settings(database_url=database_url, log_level="DEBUG")
    with TestClient(create_app(settings)) as client:
        announce(client, children=[CHILD], iros=[ALEX])
        yield client


def _raise(client: TestClient, request_id: str = "raise-1") -> dict[str, Any]:
    response = client.post(
        f"{V1}/disputes",
        json=raise_body(child_id=CHILD["id"]),
        headers={**IRO, "X-Request-ID": request_id},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _trail(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"{V1}/audit", params={"limit": "500", **params}, headers=MANAGER)
    assert response.status_code == 200, response.text
    return [r for r in response.json()["items"] if r["resource_type"] != "audit"]


def test_raising_reading_and_acting_on_a_dispute_are_recorded_with_its_child(
    audited: TestClient,
) -> None:
    dispute = _raise(audited)
    did = dispute["id"]
    for path, request_id in (
        (f"disputes/{did}", "read-one"),
        (f"disputes/{did}/history", "read-history"),
        ("disputes", "read-list"),
        ("tracker", "read-tracker"),
        ("worklists/stages-due?within=60", "read-worklist"),
    ):
        response = audited.get(f"{V1}/{path}", headers={**MANAGER, "X-Request-ID": request_id})
        assert response.status_code == 200, (path, response.text)
    disputes = Disputes(audited)
    disputes.etags[did] = f'"{dispute["version"]}"'
    responded = disputes.post(did, "respond", on=dispute["raised_on"])
    assert responded.status_code == 200, responded.text
    assert audited.get(f"{V1}/stats", headers=MANAGER).status_code == 200  # names no child

    trail = {r["request_id"]: r for r in _trail(audited, child_id=CHILD["id"])}
    assert set(trail) >= {"raise-1", "read-one", "read-history", "read-list", "read-tracker"}
    raised = trail["raise-1"]
    assert (raised["subject"], raised["roles"], raised["action"]) == ("iro-1", ["iro"], "create")
    assert (raised["route"], raised["status"]) == ("/drp/v1/disputes", 201)
    assert (raised["resource_type"], raised["resource_id"]) == ("dispute", did)
    one = trail["read-one"]
    assert (one["action"], one["route"]) == ("read", "/drp/v1/disputes/{dispute_id}")
    assert (one["subject"], one["roles"]) == ("manager-1", ["iro_manager"])
    assert one["child_ids"] == [CHILD["id"]]
    assert trail["read-history"]["resource_id"] == did
    routes = [r["route"] for r in _trail(audited, subject="manager-1")]
    assert "/drp/v1/disputes/{dispute_id}/respond" in routes
    assert "/drp/v1/stats" not in routes


def test_the_service_cannot_change_or_delete_its_audit_records(audited: TestClient) -> None:
    _raise(audited)

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


def test_the_logs_never_hold_the_childs_name(
    audited: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    dispute = _raise(audited)
    audited.get(f"{V1}/disputes/{dispute['id']}", headers=IRO)
    audited.get(f"{V1}/disputes/{dispute['id']}/history?format=csv", headers=IRO)
    audited.get(f"{V1}/tracker?format=csv", headers=MANAGER)
    audited.get(f"{V1}/audit", params={"child_id": CHILD["id"]}, headers=MANAGER)
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    routes = {line.get("route") for line in lines if line.get("event") == "request"}
    assert {"/drp/v1/disputes/{dispute_id}", "/drp/v1/audit"} <= routes  # the log was captured
    for secret in ("Zephyrine", "Quillfeather", "LCS-AUDIT-7"):
        assert secret not in captured.out + captured.err, secret
