"""The audit trail (issue 10): who read which child's record and who changed what.

Recorded in the request's transaction, queried by managers and admins, refused UPDATE and
DELETE by the database even through the service's own session, and never in the logs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer
from reviews_api.app import SPEC, create_app
from reviews_api.models import AUDIT_TABLE
from reviews_api.settings import Settings

from .conftest import INTEGRATION, IRO, MANAGER, if_match

V1 = "/reviews/v1"
NAME = {"given_name": "Zephyrine", "family_name": "Quillfeather"}
BORN = "2011-02-03"
ADMIN = bearer("admin", subject="admin-1")


@pytest.fixture
def audited(database_url: str) -> Iterator[TestClient]:
    """The service at DEBUG, so that anything it logs at all is in the captured output."""
    upgrade_to_head(SPEC.script_location, database_url)
    settings = Settings(database_url=database_url, log_level="DEBUG")
    with TestClient(create_app(settings)) as client:
        yield client


def _child(client: TestClient) -> dict[str, Any]:
    body = {"external_id": "LCS-AUDIT-1", **NAME, "date_of_birth": BORN, "sex": "female"}
    response = client.post(f"{V1}/children", json=body, headers=INTEGRATION)
    assert response.status_code == 201, response.text
    child = response.json()
    response = client.post(
        f"{V1}/children/{child['id']}/episodes",
        json={"start_on": "2017-01-02", "reason_new_episode": "S", "legal_status": "C2"},
        headers=INTEGRATION,
    )
    assert response.status_code == 201, response.text
    return child


def _trail(client: TestClient, **params: str) -> list[dict[str, Any]]:
    response = client.get(f"{V1}/audit", params={"limit": "500", **params}, headers=MANAGER)
    assert response.status_code == 200, response.text
    return [r for r in response.json()["items"] if r["resource_type"] != "audit"]


def _sql(client: TestClient, statement: str) -> Any:
    """One statement through the service's own database session (its engine and role)."""

    async def run() -> Any:
        async with client.app.state.database.transaction() as session:  # type: ignore[attr-defined]
            return (await session.execute(text(statement))).rowcount

    return client.portal.call(run)  # type: ignore[union-attr]


def test_reads_and_writes_of_a_child_are_recorded_with_who_role_route_and_request_id(
    audited: TestClient,
) -> None:
    child = _child(audited)
    cid = child["id"]
    review = audited.post(
        f"{V1}/children/{cid}/reviews",
        json={"held_on": "2017-01-20", "participation_code": "PN1"},
        headers={**IRO, "X-Request-ID": "write-1"},
    )
    assert review.status_code == 201, review.text
    review_id = review.json()["id"]
    for path, request_id in (
        (f"children/{cid}", "read-child"),
        (f"children/{cid}/schedule", "read-schedule"),
        (f"reviews/{review_id}", "read-review"),
        ("children", "read-list"),
    ):
        response = audited.get(f"{V1}/{path}", headers={**IRO, "X-Request-ID": request_id})
        assert response.status_code == 200, response.text
    assert audited.get(f"{V1}/iros", headers=IRO).status_code == 200  # names no child

    trail = {r["request_id"]: r for r in _trail(audited, child_id=cid)}
    assert set(trail) >= {"write-1", "read-child", "read-schedule", "read-review", "read-list"}
    write = trail["write-1"]
    assert (write["subject"], write["roles"], write["action"]) == ("iro-1", ["iro"], "create")
    assert write["route"] == "/reviews/v1/children/{child_id}/reviews"
    assert (write["resource_type"], write["resource_id"]) == ("review", review_id)
    assert write["child_ids"] == [cid] and write["status"] == 201
    read = trail["read-review"]
    assert (read["action"], read["route"]) == ("read", "/reviews/v1/reviews/{review_id}")
    assert read["child_ids"] == [cid]
    assert trail["read-schedule"]["route"] == "/reviews/v1/children/{child_id}/schedule"
    # The child's creation and first episode, by the case system, are on the trail too.
    by_lcs = _trail(audited, subject="lcs")
    assert [r["action"] for r in by_lcs] == ["create", "create"]
    assert all(r["child_ids"] == [cid] for r in by_lcs)
    # Nothing was recorded for a route that names no child.
    assert not [r for r in _trail(audited) if r["route"] == "/reviews/v1/iros"]


def test_corrections_and_deletions_name_the_child(audited: TestClient) -> None:
    cid = _child(audited)["id"]
    review = audited.post(
        f"{V1}/children/{cid}/reviews",
        json={"held_on": "2017-01-20", "participation_code": "PN1"},
        headers=IRO,
    ).json()
    patched = audited.patch(
        f"{V1}/reviews/{review['id']}",
        json={"participation_code": "PN2"},
        headers=if_match(review, IRO),
    )
    assert patched.status_code == 200, patched.text
    deleted = audited.request(
        "DELETE",
        f"{V1}/reviews/{review['id']}",
        json={"reason": "Entered twice."},
        headers=if_match(patched.json(), IRO),
    )
    assert deleted.status_code == 204, deleted.text
    actions = {r["action"]: r for r in _trail(audited, child_id=cid, subject="iro-1")}
    assert set(actions) == {"create", "update", "delete"}
    assert actions["delete"]["route"] == "/reviews/v1/reviews/{review_id}"


def test_a_keyed_post_is_recorded_once_and_its_replay_adds_nothing(audited: TestClient) -> None:
    cid = _child(audited)["id"]
    headers = {**IRO, "Idempotency-Key": "audit-review-1"}
    body = {"held_on": "2017-01-20", "participation_code": "PN1"}
    first = audited.post(f"{V1}/children/{cid}/reviews", json=body, headers=headers)
    again = audited.post(f"{V1}/children/{cid}/reviews", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    writes = [r for r in _trail(audited, child_id=cid) if r["subject"] == "iro-1"]
    assert len(writes) == 1 and writes[0]["resource_id"] == first.json()["id"]


def test_the_service_cannot_change_or_delete_its_audit_records(audited: TestClient) -> None:
    _child(audited)
    for table in (AUDIT_TABLE.name, "audit_record_child"):
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(audited, f"UPDATE {table} SET at = at")  # noqa: S608
        with pytest.raises(DBAPIError, match="append-only"):
            _sql(audited, f"DELETE FROM {table}")  # noqa: S608
    assert len(_trail(audited)) == 2


def test_only_managers_and_admins_read_the_trail(audited: TestClient) -> None:
    for role in ("iro", "business_support", "performance", "integration"):
        response = audited.get(f"{V1}/audit", headers=bearer(role))
        assert response.status_code == 403, role
    assert audited.get(f"{V1}/audit", headers=MANAGER).status_code == 200
    assert audited.get(f"{V1}/audit", headers=ADMIN).status_code == 200
    # Reading the trail is itself recorded.
    reads = audited.get(f"{V1}/audit", params={"subject": "admin-1"}, headers=MANAGER).json()
    assert reads["items"] and reads["items"][-1]["resource_type"] == "audit"


def test_the_logs_never_hold_the_childs_name_or_date_of_birth(
    audited: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    child = _child(audited)
    cid = child["id"]
    audited.post(
        f"{V1}/children/{cid}/reviews",
        json={"held_on": "2017-01-20", "participation_code": "PN1"},
        headers=IRO,
    )
    audited.get(f"{V1}/children/{cid}", headers=IRO)
    audited.get(f"{V1}/children", params={"external_id": "LCS-AUDIT-1"}, headers=IRO)
    renamed = audited.patch(
        f"{V1}/children/{cid}",
        json={"family_name": "Quillfeathers"},
        headers=if_match(child, INTEGRATION),
    )
    assert renamed.status_code == 200, renamed.text
    audited.get(f"{V1}/audit", params={"child_id": cid}, headers=MANAGER)
    captured = capsys.readouterr()
    logged = captured.out + captured.err
    lines = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    routes = {line.get("route") for line in lines if line.get("event") == "request"}
    assert "/reviews/v1/children/{child_id}" in routes  # the log was captured
    assert "/reviews/v1/audit" in routes
    for secret in ("Zephyrine", "Quillfeather", BORN, "03/02/2011", "2011-02-03"):
        assert secret not in logged, secret
