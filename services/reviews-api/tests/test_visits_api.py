"""IRO visits (pre-review visits and midway reviews) through the API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import IRO, PERFORMANCE, Builder, if_match
from .problems import assert_problem

V1 = "/reviews/v1"


def _visit(api: TestClient, child_id: str, headers: dict[str, str] = IRO, **body: Any) -> Any:
    return api.post(f"{V1}/children/{child_id}/visits", json=body, headers=headers)


def _visits(api: TestClient, child_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{V1}/children/{child_id}/visits", headers=IRO)
    assert response.status_code == 200, response.text
    return response.json()


def test_recording_a_visit_returns_201_and_it_is_listed(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    iro = make.iro("Alex Morgan")

    response = _visit(
        api, child["id"], kind="pre_review", visited_on="2017-04-20", iro_id=iro["id"], notes="Seen"
    )

    assert response.status_code == 201, response.text
    visit = response.json()
    assert response.headers["Location"] == f"{V1}/children/{child['id']}/visits"
    assert (visit["kind"], visit["visited_on"], visit["iro_id"], visit["created_by"]) == (
        "pre_review",
        "2017-04-20",
        iro["id"],
        "iro-1",
    )
    assert _visits(api, child["id"]) == [visit]


def test_visits_are_listed_oldest_first(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    for kind, day in (("midway", "2017-06-16"), ("pre_review", "2017-04-20")):
        assert _visit(api, child["id"], kind=kind, visited_on=day).status_code == 201

    assert [(v["visited_on"], v["kind"]) for v in _visits(api, child["id"])] == [
        ("2017-04-20", "pre_review"),
        ("2017-06-16", "midway"),
    ]


@pytest.mark.parametrize("visited_on", ["2017-04-02", "2016-12-01"])
def test_a_visit_outside_every_period_of_care_is_422(
    api: TestClient, make: Builder, visited_on: str
) -> None:
    child = make.looked_after("2017-04-03")

    response = _visit(api, child["id"], kind="pre_review", visited_on=visited_on)

    assert_problem(response, 422, "outside-period-of-care", "/visited_on")
    assert _visits(api, child["id"]) == []


def test_a_visit_in_the_future_is_422(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    response = _visit(api, child["id"], kind="midway", visited_on="2999-01-01")
    assert_problem(response, 422, "validation-error", "/visited_on")


def test_a_visit_by_an_unknown_iro_is_422(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    response = _visit(
        api, child["id"], kind="pre_review", visited_on="2017-04-20", iro_id=str(uuid.uuid4())
    )
    assert_problem(response, 422, "validation-error", "/iro_id")
    assert _visits(api, child["id"]) == []


def test_a_visit_of_an_unknown_kind_is_422(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    response = _visit(api, child["id"], kind="home_visit", visited_on="2017-04-20")
    assert_problem(response, 422, "validation-error", "/kind")


def test_a_deleted_visit_is_no_longer_listed(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    visit = _visit(api, child["id"], kind="pre_review", visited_on="2017-04-20").json()
    path = f"{V1}/visits/{visit['id']}"

    headers = if_match(visit, IRO)
    without_reason = api.request("DELETE", path, json={}, headers=headers)
    deleted = api.request("DELETE", path, json={"reason": "Entered twice"}, headers=headers)
    again = api.request("DELETE", path, json={"reason": "Entered twice"}, headers=headers)

    assert_problem(without_reason, 422, "validation-error", "/reason")
    assert deleted.status_code == 204, deleted.text
    assert _visits(api, child["id"]) == []
    assert_problem(again, 404, "not-found")


def test_performance_may_not_record_a_visit(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    response = _visit(
        api, child["id"], headers=PERFORMANCE, kind="pre_review", visited_on="2017-04-20"
    )
    assert_problem(response, 403, "forbidden")
    assert _visits(api, child["id"]) == []
