"""IROs and the allocation of children to them, through the API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import IRO, MANAGER, SUPPORT, Builder, if_match
from .problems import assert_problem

V1 = "/reviews/v1"


def _iro_body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Alex Morgan",
        "email": "alex.morgan@la.example",
        "fte": 0.8,
        "start_on": "2016-09-01",
        **fields,
    }


def _allocate(api: TestClient, child_id: str, iro_id: str, start_on: str, **fields: Any) -> Any:
    return api.post(
        f"{V1}/children/{child_id}/allocations",
        json={"iro_id": iro_id, "start_on": start_on, **fields},
        headers=MANAGER,
    )


def _history(api: TestClient, child_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{V1}/children/{child_id}/allocations", headers=IRO)
    assert response.status_code == 200, response.text
    return response.json()


def test_adding_an_iro_returns_201_and_its_location(api: TestClient) -> None:
    response = api.post(f"{V1}/iros", json=_iro_body(), headers=MANAGER)

    assert response.status_code == 201, response.text
    iro = response.json()
    assert response.headers["Location"] == f"{V1}/iros/{iro['id']}"
    assert (iro["name"], iro["fte"], iro["start_on"], iro["end_on"]) == (
        "Alex Morgan",
        0.8,
        "2016-09-01",
        None,
    )
    assert api.get(response.headers["Location"], headers=IRO).json() == iro


def test_business_support_may_add_an_iro(api: TestClient) -> None:
    assert api.post(f"{V1}/iros", json=_iro_body(), headers=SUPPORT).status_code == 201


def test_a_second_iro_with_the_same_email_is_409(api: TestClient) -> None:
    api.post(f"{V1}/iros", json=_iro_body(), headers=MANAGER)

    response = api.post(f"{V1}/iros", json=_iro_body(name="Other"), headers=MANAGER)

    assert_problem(response, 409, "conflict")
    assert len(api.get(f"{V1}/iros", headers=IRO).json()["items"]) == 1


@pytest.mark.parametrize("fte", [0, -0.5, 1.01, 2, 0.125])
def test_an_fte_outside_0_to_1_in_hundredths_is_422(api: TestClient, fte: float) -> None:
    response = api.post(f"{V1}/iros", json=_iro_body(fte=fte), headers=MANAGER)
    assert_problem(response, 422, "validation-error", "/fte")


@pytest.mark.parametrize(("field", "value"), [("email", "not-an-email"), ("name", "")])
def test_an_iro_with_an_invalid_field_is_422(api: TestClient, field: str, value: str) -> None:
    response = api.post(f"{V1}/iros", json=_iro_body(**{field: value}), headers=MANAGER)
    assert_problem(response, 422, "validation-error", f"/{field}")


def test_leaving_before_starting_is_422(api: TestClient) -> None:
    response = api.post(f"{V1}/iros", json=_iro_body(end_on="2016-08-31"), headers=MANAGER)
    assert_problem(response, 422, "validation-error", "/end_on")


def test_iros_are_listed_by_name_a_page_at_a_time(api: TestClient, make: Builder) -> None:
    for name in ("Casey", "Alex", "Blake"):
        make.iro(name)

    first = api.get(f"{V1}/iros", params={"limit": "2"}, headers=IRO).json()
    second = api.get(
        f"{V1}/iros", params={"limit": "2", "cursor": first["next_cursor"]}, headers=IRO
    ).json()

    assert [i["name"] for i in first["items"]] == ["Alex", "Blake"]
    assert [i["name"] for i in second["items"]] == ["Casey"]
    assert second["next_cursor"] is None
    bad = api.get(f"{V1}/iros", params={"cursor": "garbage"}, headers=IRO)
    assert_problem(bad, 422, "validation-error", "/cursor")


def test_changing_an_iros_fte_and_leaving_date(api: TestClient, make: Builder) -> None:
    iro = make.iro("Alex", fte=1.0)

    response = api.patch(
        f"{V1}/iros/{iro['id']}",
        json={"fte": 0.6, "end_on": "2017-08-31"},
        headers=if_match(iro, MANAGER),
    )

    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["fte"], changed["end_on"], changed["version"]) == (0.6, "2017-08-31", 2)
    assert changed["email"] == iro["email"]


def test_changes_to_an_iro_that_break_the_rules_are_refused(api: TestClient, make: Builder) -> None:
    iro, other = make.iro("Alex"), make.iro("Blake")
    path = f"{V1}/iros/{iro['id']}"

    assert_problem(
        api.patch(path, json={"email": other["email"]}, headers=if_match(iro, MANAGER)),
        409,
        "conflict",
    )
    assert_problem(
        api.patch(path, json={"name": None}, headers=if_match(iro, MANAGER)),
        422,
        "validation-error",
        "/name",
    )
    assert_problem(
        api.patch(path, json={"end_on": "2014-12-31"}, headers=if_match(iro, MANAGER)),
        422,
        "validation-error",
        "/end_on",
    )
    assert api.get(path, headers=IRO).json() == iro


def test_an_unknown_iro_is_404(api: TestClient) -> None:
    path = f"{V1}/iros/{uuid.uuid4()}"
    assert_problem(api.get(path, headers=IRO), 404, "not-found")
    assert_problem(api.patch(path, json={"fte": 0.5}, headers=MANAGER), 404, "not-found")
    assert_problem(api.get(f"{path}/caseload", headers=IRO), 404, "not-found")


def test_allocating_a_child_returns_201_and_starts_the_history(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    iro = make.iro("Alex")

    response = _allocate(api, child["id"], iro["id"], "2017-04-05", reason="New to care")

    assert response.status_code == 201, response.text
    allocation = response.json()
    assert response.headers["Location"] == f"{V1}/children/{child['id']}/allocations"
    assert (allocation["iro_id"], allocation["start_on"], allocation["end_on"]) == (
        iro["id"],
        "2017-04-05",
        None,
    )
    assert (allocation["reason"], allocation["created_by"]) == ("New to care", "manager-1")
    assert _history(api, child["id"]) == [allocation]


def test_a_new_allocation_closes_the_previous_one_the_day_before(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    alex, blake = make.iro("Alex"), make.iro("Blake")
    _allocate(api, child["id"], alex["id"], "2017-04-05")

    _allocate(api, child["id"], blake["id"], "2017-06-01")

    assert [(a["iro_id"], a["start_on"], a["end_on"]) for a in _history(api, child["id"])] == [
        (alex["id"], "2017-04-05", "2017-05-31"),
        (blake["id"], "2017-06-01", None),
    ]


def test_allocating_to_an_iro_not_in_post_that_day_is_422(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    starter = make.iro("Starter", start_on="2018-01-01")
    leaver = make.iro("Leaver", end_on="2017-03-31")

    for iro in (starter, leaver):
        response = _allocate(api, child["id"], iro["id"], "2017-04-05")
        assert_problem(response, 422, "validation-error", "/start_on")
    assert _history(api, child["id"]) == []


def test_allocating_again_to_the_same_iro_or_before_the_latest_allocation_is_409(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    alex, blake = make.iro("Alex"), make.iro("Blake")
    _allocate(api, child["id"], alex["id"], "2017-04-05")

    assert_problem(_allocate(api, child["id"], alex["id"], "2017-05-01"), 409, "conflict")
    # On or before the latest allocation's start: the problem names that allocation.
    for day in ("2017-04-05", "2017-04-04"):
        body = assert_problem(
            _allocate(api, child["id"], blake["id"], day), 409, "later-allocation"
        )
        assert body["allocation_id"] == _history(api, child["id"])[0]["id"]
    assert len(_history(api, child["id"])) == 1


def test_a_deleted_allocation_leaves_the_history(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    iro = make.iro("Alex")
    allocation = _allocate(api, child["id"], iro["id"], "2017-04-05").json()
    path = f"{V1}/allocations/{allocation['id']}"

    headers = if_match(allocation, MANAGER)
    response = api.request("DELETE", path, json={"reason": "Wrong IRO"}, headers=headers)

    assert response.status_code == 204, response.text
    assert _history(api, child["id"]) == []
    again = api.request("DELETE", path, json={"reason": "Wrong IRO"}, headers=headers)
    assert_problem(again, 404, "not-found")
    unallocated = api.get(
        f"{V1}/worklists/unallocated-children", params={"as_at": "2017-04-06"}, headers=IRO
    ).json()["items"]
    assert [u["child"]["id"] for u in unallocated] == [child["id"]]


def test_deleting_a_mistaken_reallocation_gives_the_child_back_to_the_previous_iro(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    alex, blake = make.iro("Alex"), make.iro("Blake")
    _allocate(api, child["id"], alex["id"], "2017-04-05")
    mistake = _allocate(api, child["id"], blake["id"], "2017-06-01").json()

    response = api.request(
        "DELETE",
        f"{V1}/allocations/{mistake['id']}",
        json={"reason": "Allocated to the wrong IRO"},
        headers=if_match(mistake, MANAGER),
    )

    assert response.status_code == 204, response.text
    assert [(a["iro_id"], a["end_on"]) for a in _history(api, child["id"])] == [(alex["id"], None)]
    caseload = api.get(
        f"{V1}/iros/{alex['id']}/caseload", params={"as_at": "2017-06-02"}, headers=IRO
    ).json()
    assert caseload["children"] == 1


@pytest.mark.parametrize("headers", [IRO, SUPPORT], ids=["iro", "business_support"])
def test_only_an_iro_manager_may_allocate(
    api: TestClient, make: Builder, headers: dict[str, str]
) -> None:
    child = make.looked_after("2017-04-03")
    iro = make.iro("Alex")

    response = api.post(
        f"{V1}/children/{child['id']}/allocations",
        json={"iro_id": iro["id"], "start_on": "2017-04-05"},
        headers=headers,
    )

    assert_problem(response, 403, "forbidden")
    assert _history(api, child["id"]) == []
