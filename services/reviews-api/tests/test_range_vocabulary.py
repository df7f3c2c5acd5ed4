"""One vocabulary for date ranges (issue 12, API.md): every record's range is `start_on` /
`end_on` in requests and responses, as episodes' always were. The other names (`from_on`,
`in_post_from`, `started_on` and their ends) are refused in a request with a 422 naming the
field, and never answered; the database columns and the event payloads keep them. `fte` is a
number, never a string."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import INTEGRATION, IRO, MANAGER, Builder, if_match
from .problems import assert_problem

V1 = "/reviews/v1"
OLD = {"from_on", "to_on", "in_post_from", "in_post_to", "started_on", "ended_on"}
OLD |= {"starts_on", "ends_on"}
EPISODE = {"reason_new_episode": "S", "legal_status": "C2"}
IRO_BODY = {"name": "Alex", "email": "alex@la.example", "fte": 0.8}


@pytest.fixture
def records(api: TestClient, make: Builder) -> dict[str, dict[str, Any]]:
    child = make.child()
    episode = make.episode(child["id"], "2017-04-03")
    iro = make.iro()
    allocation = api.post(
        f"{V1}/children/{child['id']}/allocations",
        json={"iro_id": iro["id"], "start_on": "2017-04-05"},
        headers=MANAGER,
    )
    placement = api.post(
        f"{V1}/children/{child['id']}/secure-placements",
        json={"start_on": "2017-06-01"},
        headers=INTEGRATION,
    )
    assert (allocation.status_code, placement.status_code) == (201, 201), allocation.text
    return {
        "child": child,
        "episode": episode,
        "iro": iro,
        "allocation": allocation.json(),
        "placement": placement.json(),
    }


# (method, path, headers, the record whose If-Match a PATCH needs, body, the old name)
OLD_NAMES_IN_REQUESTS = [
    ("POST", "/children/{child}/episodes", INTEGRATION, None, "starts_on"),
    ("PATCH", "/episodes/{episode}", INTEGRATION, "episode", "ends_on"),
    ("POST", "/iros", MANAGER, None, "in_post_from"),
    ("POST", "/iros", MANAGER, None, "in_post_to"),
    ("PATCH", "/iros/{iro}", MANAGER, "iro", "in_post_from"),
    ("PATCH", "/iros/{iro}", MANAGER, "iro", "in_post_to"),
    ("POST", "/children/{child}/allocations", MANAGER, None, "from_on"),
    ("POST", "/iros/{iro}/reallocate", MANAGER, None, "from_on"),
    ("POST", "/children/{child}/secure-placements", INTEGRATION, None, "started_on"),
    ("POST", "/children/{child}/secure-placements", INTEGRATION, None, "ended_on"),
    ("PATCH", "/secure-placements/{placement}", INTEGRATION, "placement", "started_on"),
    ("PATCH", "/secure-placements/{placement}", INTEGRATION, "placement", "ended_on"),
]


def _body(path: str, method: str, old: str, records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A body that is valid but for the old name beside the new ones."""
    day = "2017-12-01"
    if method == "PATCH":
        return {old: day}
    if path.endswith("/episodes"):
        return {"start_on": "2017-09-01", **EPISODE, old: day}
    if path == "/iros":
        return {**IRO_BODY, "start_on": "2015-01-01", old: day}
    if path.endswith("/allocations"):
        return {"iro_id": records["iro"]["id"], old: day}
    if path.endswith("/reallocate"):
        return {old: day}
    return {"start_on": "2017-09-01", old: day}


@pytest.mark.parametrize(("method", "path", "headers", "record", "old"), OLD_NAMES_IN_REQUESTS)
def test_an_old_range_name_in_a_request_is_a_422_naming_it(
    api: TestClient,
    records: dict[str, dict[str, Any]],
    method: str,
    path: str,
    headers: dict[str, str],
    record: str | None,
    old: str,
) -> None:
    url = V1 + path.format(**{name: r["id"] for name, r in records.items()})
    if record is not None:
        headers = if_match(records[record], headers)
    response = api.request(method, url, json=_body(path, method, old, records), headers=headers)
    body = assert_problem(response, 422, "validation-error", f"/{old}")
    assert old in body["detail"], body


def test_an_old_range_name_in_an_integration_item_fails_that_item_naming_it(
    api: TestClient,
) -> None:
    child = {
        "type": "child",
        "external_id": "LCS-1",
        "date_of_birth": "2010-06-15",
        "sex": "female",
    }
    episode = {
        "type": "episode",
        "external_id": "EP-1",
        "child_external_id": "LCS-1",
        **EPISODE,
    }
    response = api.post(
        f"{V1}/integration/batches",
        json={
            "items": [
                child,
                {**episode, "starts_on": "2017-04-03"},
                {**episode, "external_id": "EP-2", "start_on": "2017-04-03"},
            ]
        },
        headers=INTEGRATION,
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["outcome"] for r in results] == ["created", "failed", "created"]
    pointers = {e["pointer"] for e in results[1]["problem"]["errors"]}
    assert pointers == {"/items/1/starts_on", "/items/1/start_on"}  # unknown, and missing


def _keys(body: Any) -> set[str]:
    return set(body) if isinstance(body, dict) else set()


def test_every_record_answers_its_range_as_start_on_and_end_on(
    api: TestClient, records: dict[str, dict[str, Any]]
) -> None:
    child, iro = records["child"], records["iro"]
    placements = f"{V1}/children/{child['id']}/secure-placements"
    answered = {
        "episode": records["episode"],
        "episodes": api.get(f"{V1}/children/{child['id']}/episodes", headers=IRO).json()[0],
        "period": api.get(f"{V1}/children/{child['id']}/periods-of-care", headers=IRO).json()[0],
        "schedule": api.get(
            f"{V1}/children/{child['id']}/schedule", params={"as_at": "2017-05-01"}, headers=IRO
        ).json()["period_of_care"],
        "iro": api.get(f"{V1}/iros/{iro['id']}", headers=IRO).json(),
        "allocation": records["allocation"],
        "allocations": api.get(f"{V1}/children/{child['id']}/allocations", headers=IRO).json()[0],
        "placement": records["placement"],
        "placements": api.get(placements, headers=IRO).json()[0],
    }
    ranges = {name: (body["start_on"], body["end_on"]) for name, body in answered.items()}
    assert ranges == {
        "episode": ("2017-04-03", None),
        "episodes": ("2017-04-03", None),
        "period": ("2017-04-03", None),
        "schedule": ("2017-04-03", None),
        "iro": ("2015-01-01", None),
        "allocation": ("2017-04-05", None),
        "allocations": ("2017-04-05", None),
        "placement": ("2017-06-01", None),
        "placements": ("2017-06-01", None),
    }
    assert {name: _keys(body) & OLD for name, body in answered.items()} == {
        name: set() for name in answered
    }


def test_new_range_names_set_the_record_when_changed(
    api: TestClient, records: dict[str, dict[str, Any]]
) -> None:
    episode, iro, placement = records["episode"], records["iro"], records["placement"]
    changed = {
        "episode": api.patch(
            f"{V1}/episodes/{episode['id']}",
            json={"start_on": "2017-04-04", "end_on": "2018-01-10", "reason_ended": "E4A"},
            headers=if_match(episode, INTEGRATION),
        ),
        "iro": api.patch(
            f"{V1}/iros/{iro['id']}",
            json={"start_on": "2014-09-01", "end_on": "2019-08-31"},
            headers=if_match(iro, MANAGER),
        ),
        "placement": api.patch(
            f"{V1}/secure-placements/{placement['id']}",
            json={"start_on": "2017-06-02", "end_on": "2017-10-20"},
            headers=if_match(placement, INTEGRATION),
        ),
    }
    assert {name: r.status_code for name, r in changed.items()} == {
        "episode": 200,
        "iro": 200,
        "placement": 200,
    }
    assert {name: (r.json()["start_on"], r.json()["end_on"]) for name, r in changed.items()} == {
        "episode": ("2017-04-04", "2018-01-10"),
        "iro": ("2014-09-01", "2019-08-31"),
        "placement": ("2017-06-02", "2017-10-20"),
    }
    iro_read = api.get(f"{V1}/iros/{iro['id']}", headers=IRO).json()
    assert (iro_read["start_on"], iro_read["end_on"]) == ("2014-09-01", "2019-08-31")


def test_a_range_that_ends_before_it_starts_is_a_422_naming_end_on(
    api: TestClient, records: dict[str, dict[str, Any]]
) -> None:
    placement = records["placement"]
    response = api.patch(
        f"{V1}/secure-placements/{placement['id']}",
        json={"end_on": "2017-05-31"},
        headers=if_match(placement, INTEGRATION),
    )
    body = assert_problem(response, 422, "validation-error", "/end_on")
    assert body["detail"] == "end_on: must be on or after start_on"
    iro = {**IRO_BODY, "start_on": "2016-09-01", "end_on": "2016-08-31"}
    body = assert_problem(
        api.post(f"{V1}/iros", json=iro, headers=MANAGER), 422, "validation-error", "/end_on"
    )
    assert body["detail"] == "end_on: must be on or after start_on"


@pytest.mark.parametrize("fte", ["0.8", "1", True])
def test_an_fte_that_is_not_a_json_number_is_422(api: TestClient, fte: Any) -> None:
    body = {**IRO_BODY, "fte": fte, "start_on": "2016-09-01"}
    assert_problem(
        api.post(f"{V1}/iros", json=body, headers=MANAGER), 422, "validation-error", "/fte"
    )


def test_an_fte_is_answered_as_a_number(api: TestClient, make: Builder) -> None:
    iro = make.iro(fte=0.57)
    changed = api.patch(f"{V1}/iros/{iro['id']}", json={"fte": 1}, headers=if_match(iro, MANAGER))
    assert changed.status_code == 200, changed.text
    refused = api.patch(
        f"{V1}/iros/{iro['id']}", json={"fte": "0.5"}, headers=if_match(changed.json(), MANAGER)
    )
    assert_problem(refused, 422, "validation-error", "/fte")
    assert (iro["fte"], changed.json()["fte"]) == (0.57, 1.0)
    assert isinstance(iro["fte"], float) and isinstance(changed.json()["fte"], float)
