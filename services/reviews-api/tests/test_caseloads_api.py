"""Caseloads, the IRO with most room, and reallocating the children of an IRO who leaves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import is_sqlite, normalise_url
from reviews_api.iros import service as iros
from reviews_api.iros.schemas import AllocationCreate

from .conftest import IRO, MANAGER, SUPPORT, Builder, if_match
from .problems import assert_problem

V1 = "/reviews/v1"


def _allocate(api: TestClient, child: dict[str, Any], iro: dict[str, Any], start_on: str) -> None:
    response = api.post(
        f"{V1}/children/{child['id']}/allocations",
        json={"iro_id": iro["id"], "start_on": start_on},
        headers=MANAGER,
    )
    assert response.status_code == 201, response.text


def _get(api: TestClient, path: str, as_at: str) -> Any:
    return api.get(f"{V1}{path}", params={"as_at": as_at}, headers=IRO)


@pytest.fixture
def service(api: TestClient, make: Builder) -> dict[str, dict[str, Any]]:
    """On 1 June 2017: Alex (0.05 FTE) has 3 looked after children, Blake (1.0 FTE) has 1 and a
    child on short breaks; one child has no IRO; Lee has left and Sky has not started yet."""
    alex = make.iro("Alex", fte=0.05)
    blake = make.iro("Blake", fte=1.0)
    lee = make.iro("Lee", fte=0.5, end_on="2017-03-31")
    sky = make.iro("Sky", fte=1.0, start_on="2017-07-01")
    for _ in range(3):
        _allocate(api, make.looked_after("2017-04-03"), alex, "2017-04-05")
    _allocate(api, make.looked_after("2017-04-03"), blake, "2017-04-05")
    short_breaks = make.child()
    make.episode(short_breaks["id"], "2017-05-15", legal_status="V3")
    _allocate(api, short_breaks, blake, "2017-05-15")
    make.looked_after("2017-04-03")  # not allocated
    left_care = make.child()
    make.episode(left_care["id"], "2017-04-03", end_on="2017-05-15", reason_ended="E11")
    _allocate(api, left_care, alex, "2017-04-05")
    return {"alex": alex, "blake": blake, "lee": lee, "sky": sky}


def test_the_caseloads_count_looked_after_children_per_iro_in_post(
    api: TestClient, service: dict[str, dict[str, Any]]
) -> None:
    response = _get(api, "/caseloads", "2017-06-01")

    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["as_at"] == "2017-06-01"
    assert (summary["looked_after_children"], summary["unallocated_children"]) == (5, 1)
    assert summary["total_fte"] == pytest.approx(1.05)
    # The average is looked after children (short breaks left out) / FTE in post: 5 / 1.05.
    assert summary["average_caseload"] == pytest.approx(5 / 1.05)
    alex, blake = summary["iros"]
    assert (alex["name"], alex["children"], alex["short_break_children"]) == ("Alex", 3, 0)
    assert alex["caseload_per_fte"] == pytest.approx(60.0)
    assert alex["within_handbook_range"] is True
    assert alex["room"] == pytest.approx(0.5)
    assert (blake["name"], blake["children"], blake["short_break_children"]) == ("Blake", 1, 1)
    assert blake["caseload_per_fte"] == pytest.approx(1.0)
    assert blake["within_handbook_range"] is False
    assert blake["room"] == pytest.approx(69.0)


def test_one_iros_caseload_matches_the_summary(
    api: TestClient, service: dict[str, dict[str, Any]]
) -> None:
    alex = service["alex"]
    caseload = _get(api, f"/iros/{alex['id']}/caseload", "2017-06-01").json()
    summary = _get(api, "/caseloads", "2017-06-01").json()
    assert caseload == summary["iros"][0]
    assert caseload["iro_id"] == alex["id"]


def test_an_iro_not_in_post_has_an_empty_caseload(
    api: TestClient, service: dict[str, dict[str, Any]]
) -> None:
    caseload = _get(api, f"/iros/{service['sky']['id']}/caseload", "2017-06-01").json()
    assert (caseload["children"], caseload["caseload_per_fte"]) == (0, None)
    assert caseload["within_handbook_range"] is None


def test_caseloads_replay_a_past_day(api: TestClient, service: dict[str, dict[str, Any]]) -> None:
    before_allocation = _get(api, "/caseloads", "2017-04-04").json()
    assert [(c["name"], c["children"]) for c in before_allocation["iros"]] == [
        ("Alex", 0),
        ("Blake", 0),
    ]
    assert before_allocation["unallocated_children"] == 6


def test_the_suggestion_is_the_iro_in_post_with_most_room(
    api: TestClient, service: dict[str, dict[str, Any]]
) -> None:
    in_june = _get(api, "/iros/suggestion", "2017-06-01")
    in_july = _get(api, "/iros/suggestion", "2017-07-01")

    assert in_june.status_code == 200, in_june.text
    assert (in_june.json()["name"], in_june.json()["room"]) == ("Blake", pytest.approx(69.0))
    assert in_july.json()["name"] == "Sky"  # 70 places once in post
    assert_problem(_get(api, "/iros/suggestion", "2014-12-31"), 404, "not-found")


@pytest.fixture
def leaving(api: TestClient, make: Builder) -> dict[str, Any]:
    """Lee leaves on 31 August 2017 with three children; Max (1.0 FTE, one child already) and
    Nia (0.5 FTE) stay."""
    lee, max_, nia = make.iro("Lee"), make.iro("Max", fte=1.0), make.iro("Nia", fte=0.5)
    children = [make.looked_after("2017-04-03") for _ in range(3)]
    for child in children:
        _allocate(api, child, lee, "2017-04-05")
    _allocate(api, make.looked_after("2017-04-03"), max_, "2017-04-05")
    response = api.patch(
        f"{V1}/iros/{lee['id']}", json={"end_on": "2017-08-31"}, headers=if_match(lee, MANAGER)
    )
    assert response.status_code == 200, response.text
    return {"lee": lee, "max": max_, "nia": nia, "children": children}


def _reallocate(
    api: TestClient, iro: dict[str, Any], headers: dict[str, str] = MANAGER, **body: Any
) -> Any:
    return api.post(f"{V1}/iros/{iro['id']}/reallocate", json=body, headers=headers)


def test_every_child_of_a_leaving_iro_moves_and_each_letter_names_the_new_iro(
    api: TestClient, leaving: dict[str, Any]
) -> None:
    first, second, third = leaving["children"]
    max_, nia = leaving["max"], leaving["nia"]

    response = _reallocate(
        api,
        leaving["lee"],
        start_on="2017-09-01",
        reason="IRO leaving the service",
        assignments=[{"child_id": third["id"], "iro_id": nia["id"]}],
    )

    assert response.status_code == 200, response.text
    letters = {letter["child_id"]: letter for letter in response.json()}
    assert set(letters) == {first["id"], second["id"], third["id"]}
    # Max has 69 places and Nia 35: the children not assigned by hand go to Max.
    assert {k: v["new_iro_name"] for k, v in letters.items()} == {
        first["id"]: "Max",
        second["id"]: "Max",
        third["id"]: "Nia",
    }
    letter = letters[third["id"]]
    assert letter["new_iro_id"] == nia["id"]
    assert letter["child_name"] == f"{third['given_name']} {third['family_name']}"
    assert (letter["external_id"], letter["start_on"]) == (third["external_id"], "2017-09-01")
    history = api.get(f"{V1}/children/{first['id']}/allocations", headers=IRO).json()
    assert [(a["iro_id"], a["start_on"], a["end_on"], a["reason"]) for a in history] == [
        (leaving["lee"]["id"], "2017-04-05", "2017-08-31", None),
        (max_["id"], "2017-09-01", None, "IRO leaving the service"),
    ]
    still_with_lee = api.get(
        f"{V1}/children", params={"iro_id": leaving["lee"]["id"]}, headers=IRO
    ).json()["items"]
    assert still_with_lee == []
    caseloads = _get(api, "/caseloads", "2017-09-01").json()["iros"]
    assert [(c["name"], c["children"]) for c in caseloads] == [("Max", 3), ("Nia", 1)]


def test_a_reallocation_naming_a_child_the_iro_does_not_have_is_422(
    api: TestClient, make: Builder, leaving: dict[str, Any]
) -> None:
    stranger = make.looked_after("2017-04-03")
    response = _reallocate(
        api,
        leaving["lee"],
        start_on="2017-09-01",
        assignments=[{"child_id": stranger["id"], "iro_id": leaving["nia"]["id"]}],
    )
    assert_problem(response, 422, "validation-error", "/assignments")


def test_a_reallocation_back_to_the_leaving_iro_is_422_and_moves_nobody(
    api: TestClient, leaving: dict[str, Any]
) -> None:
    child, lee = leaving["children"][0], leaving["lee"]

    response = _reallocate(
        api,
        lee,
        start_on="2017-09-01",
        assignments=[{"child_id": child["id"], "iro_id": lee["id"]}],
    )

    assert_problem(response, 422, "validation-error", "/assignments")
    history = api.get(f"{V1}/children/{child['id']}/allocations", headers=IRO).json()
    assert [(a["iro_id"], a["end_on"]) for a in history] == [(lee["id"], None)]


def test_a_reallocation_with_no_other_iro_in_post_is_409(api: TestClient, make: Builder) -> None:
    lee = make.iro("Lee")
    child = make.looked_after("2017-04-03")
    _allocate(api, child, lee, "2017-04-05")

    response = _reallocate(api, lee, start_on="2017-09-01")

    assert_problem(response, 409, "conflict")
    history = api.get(f"{V1}/children/{child['id']}/allocations", headers=IRO).json()
    assert [a["end_on"] for a in history] == [None]


@pytest.mark.parametrize("headers", [IRO, SUPPORT], ids=["iro", "business_support"])
def test_only_an_iro_manager_may_reallocate(
    api: TestClient, leaving: dict[str, Any], headers: dict[str, str]
) -> None:
    response = _reallocate(api, leaving["lee"], headers=headers, start_on="2017-09-01")
    assert_problem(response, 403, "forbidden")


def test_a_child_moved_while_the_children_are_reallocated_is_not_moved_again(
    api: TestClient, leaving: dict[str, Any], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another manager moves one of Lee's children to Nia (from 1 August) after the
    reallocation has read Lee's children and before it has locked them. The reallocation used
    to move that child again, to Max from 1 September, over the other manager's decision: it
    now reads again under the locks and is a 409 that moves nobody."""
    if is_sqlite(normalise_url(database_url)):
        pytest.skip(
            "needs PostgreSQL (IRO_TEST_POSTGRES_URL): SQLite begins every transaction "
            "IMMEDIATE, so no other writer can come between the read and the locks"
        )
    moved, nia, lee = leaving["children"][0], leaving["nia"], leaving["lee"]
    lock = iros.lock_children
    interfered: list[bool] = []

    async def another_manager_moves_a_child() -> None:
        async with api.app.state.database.transaction() as other:  # type: ignore[attr-defined]
            body = AllocationCreate(iro_id=uuid.UUID(nia["id"]), start_on=date(2017, 8, 1))
            await iros.allocate(other, uuid.UUID(moved["id"]), body, "another-manager")

    async def lock_after_another_writer(session: AsyncSession, ids: Iterable[uuid.UUID]) -> None:
        if not interfered:  # the reallocation's own lock, the first one taken
            interfered.append(True)
            await asyncio.create_task(another_manager_moves_a_child())  # its own transaction
        await lock(session, ids)

    monkeypatch.setattr(iros, "lock_children", lock_after_another_writer)
    response = _reallocate(api, lee, start_on="2017-09-01")

    assert interfered
    assert_problem(response, 409, "conflict")
    history = api.get(f"{V1}/children/{moved['id']}/allocations", headers=IRO).json()
    assert [(a["iro_id"], a["start_on"], a["end_on"]) for a in history] == [
        (lee["id"], "2017-04-05", "2017-07-31"),
        (nia["id"], "2017-08-01", None),
    ]
    still_with_lee = api.get(f"{V1}/children", params={"iro_id": lee["id"]}, headers=IRO).json()
    assert {c["id"] for c in still_with_lee["items"]} == {c["id"] for c in leaving["children"][1:]}
