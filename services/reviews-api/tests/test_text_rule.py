"""One text rule on SQLite and PostgreSQL (issue 11): NUL and other control characters in a
body field, a filter or a batch item are a 422 naming the field, never a 500 on PostgreSQL
and never stored on SQLite; one bad item in a batch fails only that item."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from iro_kit.migrations import upgrade_to_head
from reviews_api.app import SPEC, create_app
from reviews_api.integration import service
from reviews_api.settings import Settings

from .conftest import INTEGRATION, IRO, MANAGER, Builder
from .problems import assert_problem

V1 = "/reviews/v1"
BATCHES = f"{V1}/integration/batches"
REFUSED_EVERYWHERE = ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\ud800"]


def _child_body(**fields: Any) -> dict[str, Any]:
    return {
        "external_id": "LCS-9",
        "given_name": "Sam",
        "family_name": "Taylor",
        "date_of_birth": "2010-06-15",
        "sex": "female",
        **fields,
    }


@pytest.mark.parametrize("character", REFUSED_EVERYWHERE)
@pytest.mark.parametrize("field", ["external_id", "given_name", "family_name"])
def test_a_control_character_in_a_childs_name_or_id_is_a_422_naming_it(
    api: TestClient, field: str, character: str
) -> None:
    body = json.dumps(_child_body(**{field: f"Sa{character}m"}))  # a lone surrogate escaped
    headers = {**INTEGRATION, "Content-Type": "application/json"}
    response = api.post(f"{V1}/children", content=body, headers=headers)
    problem = assert_problem(response, 422, "validation-error", f"/{field}")
    if character != "\ud800":  # pydantic refuses a lone surrogate itself, in its own words
        assert "control character" in problem["errors"][0]["message"]
    assert api.get(f"{V1}/children", headers=IRO).json()["items"] == []  # nothing stored


@pytest.mark.parametrize("character", ["\t", "\n", "\r"])
def test_a_name_is_one_line(api: TestClient, make: Builder, character: str) -> None:
    response = api.post(
        f"{V1}/children", json=_child_body(family_name=f"Tay{character}lor"), headers=INTEGRATION
    )
    assert_problem(response, 422, "validation-error", "/family_name")
    child = make.child()
    response = api.patch(
        f"{V1}/children/{child['id']}", json={"given_name": f"S{character}"}, headers=INTEGRATION
    )
    assert_problem(response, 422, "validation-error", "/given_name")


def test_notes_keep_their_lines_but_not_a_nul(api: TestClient, make: Builder) -> None:
    child = make.looked_after()
    notes = "Plan endorsed.\r\n\tActions:\n- contact weekly"
    review = make.review(child["id"], "2017-04-20", notes=notes)
    assert review["notes"] == notes
    response = api.post(
        f"{V1}/children/{child['id']}/reviews",
        json={"held_on": "2017-05-02", "participation_code": "PN1", "notes": "a\x00b"},
        headers=IRO,
    )
    assert_problem(response, 422, "validation-error", "/notes")


def test_a_nested_panel_members_name_is_named_by_its_place(api: TestClient, make: Builder) -> None:
    child = make.looked_after()
    placement = api.post(
        f"{V1}/children/{child['id']}/secure-placements",
        json={"start_on": "2017-06-01"},
        headers=INTEGRATION,
    )
    assert placement.status_code == 201, placement.text
    panel = [
        {"name": "IRO One", "independent": False},
        {"name": "IRO\x00Two", "independent": False},
        {"name": "Consortium IRO", "independent": True},
    ]
    response = api.post(
        f"{V1}/secure-placements/{placement.json()['id']}/reviews",
        json={"held_on": "2017-06-28", "panel": panel},
        headers=IRO,
    )
    assert_problem(response, 422, "validation-error", "/panel/1/name")


def test_an_iro_name_with_a_nul_is_a_422(api: TestClient) -> None:
    body = {"name": "Alex\x00", "email": "a@la.example", "fte": 1, "start_on": "2015-01-01"}
    response = api.post(f"{V1}/iros", json=body, headers=MANAGER)
    assert_problem(response, 422, "validation-error", "/name")


@pytest.mark.parametrize("character", [*REFUSED_EVERYWHERE[:-1], "\n", "\t"])
def test_a_control_character_in_a_filter_is_a_422_naming_the_parameter(
    api: TestClient, make: Builder, character: str
) -> None:
    make.child()
    response = api.get(f"{V1}/children", params={"external_id": f"LCS-1{character}"}, headers=IRO)
    problem = assert_problem(response, 422, "validation-error", "/external_id")
    assert problem["errors"][0]["location"] == "query"


def test_a_nul_in_an_audit_filter_is_a_422(api: TestClient) -> None:
    response = api.get(f"{V1}/audit", params={"subject": "iro-1\x00"}, headers=MANAGER)
    assert_problem(response, 422, "validation-error", "/subject")


def _push(api: TestClient, *items: dict[str, Any]) -> dict[str, Any]:
    response = api.post(BATCHES, json={"items": list(items)}, headers=INTEGRATION)
    assert response.status_code == 200, response.text
    return response.json()


def _item(kind: str, **fields: Any) -> dict[str, Any]:
    defaults: dict[str, dict[str, Any]] = {
        "child": {**_child_body(), "external_id": "LCS-1"},
        "episode": {
            "external_id": "EP-1",
            "child_external_id": "LCS-1",
            "start_on": "2017-04-03",
            "reason_new_episode": "S",
            "legal_status": "C2",
        },
        "plan_date": {
            "child_external_id": "LCS-1",
            "kind": "care_plan_updated",
            "dated_on": "2017-05-10",
        },
    }
    return {"type": kind, **defaults[kind], **fields}


def test_a_nul_in_one_batch_item_fails_that_item_alone(api: TestClient) -> None:
    body = _push(
        api,
        _item("child"),
        _item("child", external_id="LCS-2", family_name="Reed\x00"),
        _item("episode", external_id="EP\x00-2"),
        _item("plan_date", child_external_id="LCS-1\x00"),  # names a child to look up
        _item("child", external_id="LCS-3\x00"),
        _item("episode"),
        _item("plan_date"),
    )
    outcomes = [r["outcome"] for r in body["results"]]
    assert outcomes == ["created", "failed", "failed", "failed", "failed", "created", "created"]
    pointers = [
        [e["pointer"] for e in r["problem"]["errors"]]
        for r in body["results"]
        if r["outcome"] == "failed"
    ]
    assert pointers == [
        ["/items/1/family_name"],
        ["/items/2/external_id"],
        ["/items/3/child_external_id"],
        ["/items/4/external_id"],
    ]
    assert all(r["problem"]["status"] == 422 for r in body["results"] if r["problem"])
    assert body["counts"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 4}
    children = api.get(f"{V1}/children", headers=IRO).json()["items"]
    assert [c["external_id"] for c in children] == ["LCS-1"]
    episodes = api.get(f"{V1}/children/{children[0]['id']}/episodes", headers=IRO)
    assert [e["external_id"] for e in episodes.json()] == ["EP-1"]


def test_a_batch_item_with_a_nul_in_an_update_leaves_the_child_as_held(api: TestClient) -> None:
    _push(api, _item("child"))
    body = _push(
        api,
        _item("child", given_name="Sa\x00m"),
        _item("child", external_id="LCS-2", family_name="Reed"),
    )
    assert [r["outcome"] for r in body["results"]] == ["failed", "created"]
    held = api.get(f"{V1}/children", params={"external_id": "LCS-1"}, headers=IRO)
    assert held.json()["items"][0]["given_name"] == "Sam"


@pytest.fixture
def postgres_api(postgres_url: str) -> Iterator[TestClient]:
    upgrade_to_head(SPEC.script_location, postgres_url)
    with TestClient(create_app(Settings(database_url=postgres_url))) as client:
        yield client


def test_a_value_postgresql_refuses_inside_a_batch_fails_only_its_item(
    postgres_api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever slips past validation and is refused by PostgreSQL (SQLSTATE class 22) rolls
    back that item's savepoint alone; the batch's transaction carries on."""
    upsert = service._HANDLERS["child"]

    async def refused_for_lcs_2(context: Any, item: Any) -> Any:
        if item.external_id == "LCS-2":
            await context.session.execute(text("SELECT CAST('not a number' AS integer)"))
        return await upsert(context, item)

    monkeypatch.setitem(service._HANDLERS, "child", refused_for_lcs_2)
    body = _push(
        postgres_api,
        _item("child"),
        _item("child", external_id="LCS-2"),
        _item("child", external_id="LCS-3"),
    )
    assert [r["outcome"] for r in body["results"]] == ["created", "failed", "created"]
    assert body["results"][1]["problem"]["status"] == 422
    children = postgres_api.get(f"{V1}/children", headers=IRO).json()["items"]
    assert sorted(c["external_id"] for c in children) == ["LCS-1", "LCS-3"]
