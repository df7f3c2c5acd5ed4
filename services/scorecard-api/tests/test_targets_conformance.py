"""Targets as the OpenAPI documents them (found by .ci/fuzz): timestamps in UTC with `Z` on
every database, numbers that are numbers, and only the formats the route serves."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from iro_kit.testing import assert_problem

from .conftest import ADMIN, PERFORMANCE, V1, Producer

# RFC 3339 with the zone: what `format: date-time` and API.md ("UTC with Z") ask for.
UTC_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_target_timestamps_are_utc_with_z(scorecard: TestClient) -> None:
    put = scorecard.put(f"{V1}/targets/participation", json={"target": 90}, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert UTC_Z.match(put.json()["updated_at"]), put.json()
    listed = scorecard.get(f"{V1}/targets", headers=PERFORMANCE).json()
    (participation,) = [t for t in listed if t["code"] == "participation"]
    assert UTC_Z.match(participation["updated_at"]), participation
    assert all(t["updated_at"] is None for t in listed if t["code"] != "participation")
    history = scorecard.get(f"{V1}/targets/participation/history", headers=PERFORMANCE).json()
    assert [UTC_Z.match(h["changed_at"]) is not None for h in history] == [True]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": 90, "amber_tolerance": False}, "amber_tolerance"),
        ({"target": True}, "target"),
        ({"target": 90, "amber_tolerance": "5"}, "amber_tolerance"),
    ],
)
def test_a_boolean_or_text_is_not_a_number(
    scorecard: TestClient, body: dict[str, object], field: str
) -> None:
    refused = scorecard.put(f"{V1}/targets/participation", json=body, headers=ADMIN)
    assert_problem(refused, 422, "validation-error", f"/{field}")


def test_whole_numbers_and_null_are_still_numbers(scorecard: TestClient) -> None:
    body = {"target": 95, "amber_tolerance": 0}
    put = scorecard.put(f"{V1}/targets/participation", json=body, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert (put.json()["target"], put.json()["amber_tolerance"]) == (95.0, 0.0)
    cleared = scorecard.put(f"{V1}/targets/participation", json={"target": None}, headers=ADMIN)
    assert cleared.status_code == 200 and cleared.json()["target"] is None


def test_targets_document_and_serve_only_their_formats(scorecard: TestClient) -> None:
    parameters = scorecard.get("/scorecard/openapi.json").json()["paths"][f"{V1}/targets"]
    (fmt,) = [p for p in parameters["get"]["parameters"] if p["name"] == "format"]
    (documented,) = [s["enum"] for s in fmt["schema"]["anyOf"] if "enum" in s]
    assert documented == ["json", "csv", "xlsx"]
    for value in documented:
        assert scorecard.get(
            f"{V1}/targets", params={"format": value}, headers=PERFORMANCE
        ).is_success
    png = scorecard.get(f"{V1}/targets", params={"format": "png"}, headers=PERFORMANCE)
    assert_problem(png, 422, "validation-error", "/format")
    by_accept = scorecard.get(f"{V1}/targets", headers={**PERFORMANCE, "Accept": "image/png"})
    assert_problem(by_accept, 406, "not-acceptable")


def test_audit_timestamps_are_utc_with_z(scorecard: TestClient) -> None:
    scorecard.put(f"{V1}/targets/participation", json={"target": 90}, headers=ADMIN)
    records = scorecard.get(f"{V1}/audit", headers=ADMIN).json()["items"]
    assert records, "the change of target is audited"
    assert all(UTC_Z.match(record["at"]) for record in records), records


def test_freshness_times_are_utc_with_z(scorecard: TestClient, producer: Producer) -> None:
    producer.iro(uuid.UUID(int=1), "Alex Morgan", 1.0, "2010-01-01")
    fresh = scorecard.get(f"{V1}/freshness", headers=PERFORMANCE).json()
    assert list(fresh) == ["reviews-api"] and UTC_Z.match(fresh["reviews-api"]), fresh


def test_timestamps_are_documented_as_date_times(scorecard: TestClient) -> None:
    schemas = scorecard.get("/scorecard/openapi.json").json()["components"]["schemas"]
    updated_at = schemas["Target"]["properties"]["updated_at"]["anyOf"]
    assert {"type": "string", "format": "date-time"} in updated_at
    changed_at = schemas["TargetHistoryRow"]["properties"]["changed_at"]
    assert (changed_at["type"], changed_at["format"]) == ("string", "date-time")
