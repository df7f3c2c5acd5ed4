"""The integration API: a case system pushes children, episodes and plan dates in batches."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from iro_kit.testing import bearer

from .conftest import INTEGRATION, IRO, MANAGER, PERFORMANCE, SUPPORT
from .problems import PROBLEM_BASE, assert_problem

V1 = "/reviews/v1"
BATCHES = f"{V1}/integration/batches"


def _child(external_id: str = "LCS-1", **fields: Any) -> dict[str, Any]:
    return {
        "type": "child",
        "external_id": external_id,
        "given_name": "Sam",
        "family_name": "Taylor",
        "date_of_birth": "2010-06-15",
        "sex": "female",
        **fields,
    }


def _episode(external_id: str = "EP-1", child: str = "LCS-1", **fields: Any) -> dict[str, Any]:
    return {
        "type": "episode",
        "external_id": external_id,
        "child_external_id": child,
        "start_on": "2017-04-03",
        "reason_new_episode": "S",
        "legal_status": "C2",
        **fields,
    }


def _plan(child: str = "LCS-1", **fields: Any) -> dict[str, Any]:
    return {
        "type": "plan_date",
        "child_external_id": child,
        "kind": "care_plan_updated",
        "dated_on": "2017-05-10",
        **fields,
    }


def _push(api: TestClient, *items: dict[str, Any], **headers: str) -> Any:
    response = api.post(BATCHES, json={"items": list(items)}, headers={**INTEGRATION, **headers})
    assert response.status_code == 200, response.text
    return response.json()


def _outcomes(body: dict[str, Any]) -> list[str]:
    return [r["outcome"] for r in body["results"]]


def _find_child(api: TestClient, external_id: str) -> list[dict[str, Any]]:
    return api.get(f"{V1}/children", params={"external_id": external_id}, headers=IRO).json()[
        "items"
    ]


def test_a_batch_creates_then_sending_it_again_changes_nothing(api: TestClient) -> None:
    batch = (_child(), _episode(), _plan())

    first = _push(api, *batch)
    again = _push(api, *batch)

    assert _outcomes(first) == ["created", "created", "created"]
    assert _outcomes(again) == ["unchanged", "unchanged", "unchanged"]
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "failed": 0}
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    [child] = _find_child(api, "LCS-1")
    assert (child["id"], child["version"]) == (first["results"][0]["id"], 1)
    episodes = api.get(f"{V1}/children/{child['id']}/episodes", headers=IRO).json()
    assert [(e["external_id"], e["start_on"]) for e in episodes] == [("EP-1", "2017-04-03")]


def test_a_changed_item_is_updated_through_the_same_rules(api: TestClient) -> None:
    _push(api, _child(), _episode())
    child_id = _find_child(api, "LCS-1")[0]["id"]
    late = {"late_reason": "other", "late_reason_text": "Chair ill"}
    review = {"held_on": "2017-05-08", "participation_code": "PN1", **late}
    assert api.post(f"{V1}/children/{child_id}/reviews", json=review, headers=IRO).is_success

    body = _push(api, _child(family_name="Jones"), _episode(start_on="2017-04-10"))

    assert _outcomes(body) == ["updated", "updated"]
    child = api.get(f"{V1}/children/{child_id}", headers=IRO).json()
    assert (child["family_name"], child["version"]) == ("Jones", 2)
    # The period now starts on 10 April: the review held on 8 May is in time (due by 11 May).
    [review] = api.get(f"{V1}/children/{child_id}/reviews", headers=IRO).json()
    assert (review["due_by"], review["in_timescale"], review["late_reason"]) == (
        "2017-05-11",
        True,
        None,
    )


def test_a_mixed_batch_keeps_the_good_items(api: TestClient) -> None:
    _push(api, _child("LCS-9"), _episode("EP-9", "LCS-9", start_on="2016-01-04"))

    body = _push(
        api,
        _child("LCS-1"),
        _child("LCS-2", date_of_birth="15/06/2010"),
        _episode("EP-1", "LCS-1"),
        _episode("EP-2", "LCS-9", start_on="2016-03-01"),
        _plan("LCS-1", dated_on="2999-01-01"),
        _plan("LCS-1"),
        {"type": "visit", "external_id": "V-1"},
        _episode("EP-3", "LCS-1", start_on="2009-01-01"),
    )

    assert _outcomes(body) == [
        "created",
        "failed",
        "created",
        "failed",
        "failed",
        "created",
        "failed",
        "failed",
    ]
    problems = {r["index"]: r["problem"] for r in body["results"] if r["problem"]}
    pointers = {index: [e["pointer"] for e in p["errors"]] for index, p in problems.items()}
    assert pointers == {
        1: ["/items/1/date_of_birth"],
        3: ["/items/3/start_on"],
        4: ["/items/4/dated_on"],
        6: ["/items/6/type"],
        7: ["/items/7/start_on"],
    }
    assert {i: (p["status"], p["type"]) for i, p in problems.items()} == {
        1: (422, PROBLEM_BASE + "validation-error"),
        3: (409, PROBLEM_BASE + "episodes-overlap"),
        4: (422, PROBLEM_BASE + "validation-error"),
        6: (422, PROBLEM_BASE + "validation-error"),
        7: (422, PROBLEM_BASE + "validation-error"),
    }
    assert problems[3]["overlapping_episode_id"]
    assert body["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 5}
    assert _find_child(api, "LCS-2") == []
    child_id = _find_child(api, "LCS-1")[0]["id"]
    assert len(api.get(f"{V1}/children/{child_id}/episodes", headers=IRO).json()) == 1
    plans = api.get(f"{V1}/children/{child_id}/plan-dates", headers=IRO).json()
    assert [p["dated_on"] for p in plans["items"]] == ["2017-05-10"]


def test_a_childs_records_may_come_before_the_child_in_one_batch(api: TestClient) -> None:
    body = _push(api, _plan(), _episode(), _child())

    assert _outcomes(body) == ["created", "created", "created"]


def test_records_of_an_unknown_child_fail_alone_and_can_be_sent_again(api: TestClient) -> None:
    early = _push(api, _episode(), _plan(), _child("LCS-2"))

    assert _outcomes(early) == ["failed", "failed", "created"]
    problem = early["results"][0]["problem"]
    assert (problem["status"], problem["type"], problem["retryable"]) == (
        409,
        PROBLEM_BASE + "unknown-child",
        True,
    )
    assert problem["errors"][0]["pointer"] == "/items/0/child_external_id"
    _push(api, _child())
    assert _outcomes(_push(api, _episode(), _plan())) == ["created", "created"]


def test_an_idempotency_key_replays_the_first_response(api: TestClient) -> None:
    key = {"Idempotency-Key": "batch-0001"}
    first = api.post(BATCHES, json={"items": [_child()]}, headers={**INTEGRATION, **key})
    api.post(
        BATCHES, json={"items": [_child(family_name="Later")]}, headers=INTEGRATION
    )  # changed since, without a key

    retry = api.post(BATCHES, json={"items": [_child()]}, headers={**INTEGRATION, **key})

    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert _outcomes(retry.json()) == ["created"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _find_child(api, "LCS-1")[0]["family_name"] == "Later"  # the retry applied nothing


def test_an_idempotency_key_with_another_body_is_422(api: TestClient) -> None:
    key = {"Idempotency-Key": "batch-0002"}
    api.post(BATCHES, json={"items": [_child()]}, headers={**INTEGRATION, **key})

    response = api.post(BATCHES, json={"items": [_child("LCS-2")]}, headers={**INTEGRATION, **key})

    assert_problem(response, 422, "idempotency-key-reused", "/Idempotency-Key")
    assert _find_child(api, "LCS-2") == []


def test_an_idempotency_key_belongs_to_its_caller(api: TestClient) -> None:
    key = {"Idempotency-Key": "batch-0003"}
    api.post(BATCHES, json={"items": [_child()]}, headers={**INTEGRATION, **key})
    other_system = bearer("integration", subject="mosaic")

    response = api.post(BATCHES, json={"items": [_child("M-1")]}, headers={**other_system, **key})

    assert response.status_code == 200
    assert _outcomes(response.json()) == ["created"]


@pytest.mark.parametrize("items", [[], [_child(f"C-{n}") for n in range(1001)]])
def test_a_batch_holds_1_to_1000_items(api: TestClient, items: list[dict[str, Any]]) -> None:
    response = api.post(BATCHES, json={"items": items}, headers=INTEGRATION)

    assert_problem(response, 422, "validation-error", "/items")


def test_a_full_batch_of_1000_is_applied(api: TestClient) -> None:
    body = _push(api, *[_child(f"C-{n}") for n in range(1000)])

    assert body["counts"]["created"] == 1000


def test_a_child_may_come_without_names(api: TestClient) -> None:
    body = _push(api, _child(given_name=None, family_name=None))
    _push(api, _child(given_name=None))  # null keeps what is held

    child = api.get(f"{V1}/children/{body['results'][0]['id']}", headers=IRO).json()
    assert (child["given_name"], child["family_name"]) == (None, "Taylor")


def test_an_episode_of_another_child_is_refused(api: TestClient) -> None:
    _push(api, _child(), _child("LCS-2"), _episode())

    body = _push(api, _episode(child="LCS-2"))

    problem = body["results"][0]["problem"]
    assert (problem["status"], problem["errors"][0]["pointer"]) == (
        409,
        "/items/0/child_external_id",
    )


@pytest.mark.parametrize("headers", [IRO, MANAGER, SUPPORT, PERFORMANCE])
def test_only_the_integration_role_may_push(api: TestClient, headers: dict[str, str]) -> None:
    response = api.post(BATCHES, json={"items": [_child()]}, headers=headers)

    assert_problem(response, 403, "forbidden")
    assert _find_child(api, "LCS-1") == []
