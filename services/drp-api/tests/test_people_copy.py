"""drp-api's read copy of reviews-api's children and IROs, kept from their events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from drp_api.app import SPEC, create_app
from drp_api.settings import Settings
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer

from .conftest import V1, raise_body
from .problems import assert_problem

REVIEWS_RELAY = bearer("integration", subject="reviews-api")
MANAGER = bearer("iro_manager", subject="manager-1")


@pytest.fixture
def copy_api(database_url: str) -> Iterator[TestClient]:
    upgrade_to_head(SPEC.script_location, database_url)
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client


def _event(type_: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/reviews-api",
        "type": type_,
        "subject": subject,
        "time": "2026-11-26T10:00:00Z",
        "data": data,
    }


def _child(child_id: str, version: int, family_name: str = "Taylor") -> dict[str, Any]:
    return _event(
        "child.changed",
        child_id,
        {
            "id": child_id,
            "external_id": "LCS-7",
            "given_name": "Sam",
            "family_name": family_name,
            "date_of_birth": "2010-06-15",
            "sex": "female",
            "periods_of_care": [],
            "deleted": False,
            "version": version,
        },
    )


def _iro(iro_id: str, version: int, name: str) -> dict[str, Any]:
    return _event(
        "iro.changed",
        iro_id,
        {
            "id": iro_id,
            "name": name,
            "email": "alex@la.example",
            "fte": 1.0,
            "in_post_from": "2015-01-01",
            "in_post_to": None,
            "version": version,
        },
    )


def _deliver(api: TestClient, *events: dict[str, Any]) -> list[str]:
    response = api.post("/drp/events", json=list(events), headers=REVIEWS_RELAY)
    assert response.status_code == 200, response.text
    return [r["status"] for r in response.json()["results"]]


def test_a_dispute_for_a_child_reviews_api_never_announced_is_404(copy_api: TestClient) -> None:
    iro_id = str(uuid.uuid4())
    _deliver(copy_api, _iro(iro_id, 1, "Alex Morgan"))
    body = raise_body(child_id=str(uuid.uuid4()), iro_id=iro_id)
    response = copy_api.post(f"{V1}/disputes", json=body, headers=MANAGER)
    problem = assert_problem(response, 404, "not-found", "/child_id")
    assert "no child" in problem["detail"]


def test_names_come_from_the_copy_and_the_newest_version_wins(copy_api: TestClient) -> None:
    child_id, iro_id = str(uuid.uuid4()), str(uuid.uuid4())
    statuses = _deliver(
        copy_api,
        _child(child_id, 5, "Jones"),
        _child(child_id, 3, "Old-Name"),  # older, arriving later: ignored
        _iro(iro_id, 2, "Alex Morgan"),
    )
    assert statuses == ["applied", "applied", "applied"]
    body = raise_body(child_id=child_id, iro_id=iro_id)
    response = copy_api.post(f"{V1}/disputes", json=body, headers=MANAGER)
    assert response.status_code == 201, response.text
    dispute = response.json()
    assert dispute["child"] == {"id": child_id, "external_id": "LCS-7", "name": "Sam Jones"}
    assert dispute["raised_by"]["name"] == "Alex Morgan"


def test_a_repeated_event_is_acknowledged_and_changes_nothing(copy_api: TestClient) -> None:
    event = _iro(str(uuid.uuid4()), 1, "Alex Morgan")
    assert _deliver(copy_api, event) == ["applied"]
    assert _deliver(copy_api, event) == ["duplicate"]


def test_only_producing_services_may_deliver(copy_api: TestClient) -> None:
    case_system = bearer("integration", subject="lcs")
    response = copy_api.post(
        "/drp/events", json=_iro(str(uuid.uuid4()), 1, "X"), headers=case_system
    )
    assert_problem(response, 403, "forbidden")


REVIEWS_SCHEMAS = Path(__file__).resolve().parents[2] / "reviews-api" / "events"


@pytest.mark.parametrize(
    ("schema", "fixture"),
    [
        ("child.changed.v1.schema.json", _child(str(uuid.uuid4()), 1)),
        ("iro.changed.v1.schema.json", _iro(str(uuid.uuid4()), 1, "Alex Morgan")),
    ],
)
def test_the_events_these_tests_deliver_match_reviews_apis_committed_schemas(
    schema: str, fixture: dict[str, Any]
) -> None:
    jsonschema.validate(fixture["data"], json.loads((REVIEWS_SCHEMAS / schema).read_text()))
