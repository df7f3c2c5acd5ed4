"""Raising a dispute names the child and the IRO by id only (issue 12).

Their case id and names come from drp-api's copy of reviews-api's children and IROs: a name or
case id in the request is refused (422 naming the field) rather than accepted and discarded,
and a child or IRO the copy has never heard of is a 404 the route documents.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drp_api.app import create_app
from drp_api.settings import Settings

from .conftest import ALEX, CHILD, IRO, V1, announce, raise_body
from .problems import assert_problem


def _none_stored(api: TestClient) -> None:
    assert api.get(f"{V1}/disputes", headers=IRO).json()["items"] == []


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"child": CHILD}, "/child"),  # the old shape, right names and all
        ({"child": {**CHILD, "name": "Someone Else"}}, "/child"),
        ({"raised_by": ALEX}, "/raised_by"),
        ({"child_name": "Someone Else"}, "/child_name"),
        ({"child_external_id": "LCS-999"}, "/child_external_id"),
        ({"iro_name": "Someone Else"}, "/iro_name"),
        ({"name": "Someone Else"}, "/name"),
    ],
)
def test_a_name_or_case_id_in_the_request_is_a_422_naming_it(
    api: TestClient, fields: dict[str, Any], pointer: str
) -> None:
    response = api.post(f"{V1}/disputes", json=raise_body(**fields), headers=IRO)
    problem = assert_problem(response, 422, "validation-error", pointer)
    assert [e["pointer"] for e in problem["errors"]] == [pointer]
    _none_stored(api)


@pytest.mark.parametrize("missing", ["child_id", "iro_id"])
def test_the_child_id_and_the_iro_id_are_required(api: TestClient, missing: str) -> None:
    body = raise_body()
    del body[missing]
    assert_problem(api.post(f"{V1}/disputes", json=body, headers=IRO), 422, "validation-error",
                   f"/{missing}")  # fmt: skip
    _none_stored(api)


@pytest.mark.parametrize(("field", "what"), [("child_id", "no child"), ("iro_id", "no IRO")])
def test_an_unknown_child_or_iro_is_a_404_naming_the_field(
    api: TestClient, field: str, what: str
) -> None:
    body = raise_body(**{field: str(uuid.uuid4())})
    problem = assert_problem(
        api.post(f"{V1}/disputes", json=body, headers=IRO), 404, "not-found", f"/{field}"
    )
    assert what in problem["detail"]
    _none_stored(api)


def test_a_child_deleted_in_reviews_api_is_a_404(api: TestClient) -> None:
    gone = {"id": str(uuid.uuid4()), "external_id": "LCS-GONE", "name": "Gone Child"}
    announce(api, children=[gone])
    body = raise_body(child_id=gone["id"])
    assert api.post(f"{V1}/disputes", json=body, headers=IRO).status_code == 201
    announce(api, children=[{**gone, "deleted": True}])
    response = api.post(f"{V1}/disputes", json=body, headers=IRO)
    assert_problem(response, 404, "not-found", "/child_id")


def test_the_dispute_carries_the_stored_names_and_case_id(api: TestClient) -> None:
    child = {"id": str(uuid.uuid4()), "external_id": "LCS-4411", "name": "Robin Ash"}
    iro = {"id": str(uuid.uuid4()), "name": "Morgan Lee"}
    announce(api, children=[child], iros=[iro])
    body = raise_body(child_id=child["id"], iro_id=iro["id"])
    response = api.post(f"{V1}/disputes", json=body, headers=IRO)
    assert response.status_code == 201, response.text
    raised = response.json()
    assert (raised["child"], raised["raised_by"]) == (child, iro)
    assert api.get(f"{V1}/disputes/{raised['id']}", headers=IRO).json()["child"] == child

    # reviews-api renames the child: the next dispute carries the new name; the first keeps
    # the name it was raised with.
    renamed = {**child, "name": "Robin Ash-Cole"}
    announce(api, children=[renamed])
    again = api.post(f"{V1}/disputes", json=body, headers=IRO).json()
    assert again["child"] == renamed
    assert api.get(f"{V1}/disputes/{raised['id']}", headers=IRO).json()["child"] == child


def test_a_child_with_no_name_is_named_by_case_id_as_reviews_api_names_them(
    api: TestClient,
) -> None:
    nameless = {"id": str(uuid.uuid4()), "external_id": "903-ABC", "name": ""}  # SSDA903
    announce(api, children=[nameless])
    response = api.post(f"{V1}/disputes", json=raise_body(child_id=nameless["id"]), headers=IRO)
    assert response.status_code == 201, response.text
    assert response.json()["child"]["name"] == "Child 903-ABC"


def test_the_openapi_takes_ids_only_and_documents_the_404(database_url: str) -> None:
    spec = create_app(Settings(database_url=database_url)).openapi()
    operation = spec["paths"][f"{V1}/disputes"]["post"]
    schema = spec["components"]["schemas"]["DisputeRaise"]
    assert {"child_id", "iro_id"} <= set(schema["required"])
    assert not {"child", "raised_by", "name", "external_id"} & set(schema["properties"])
    assert schema["additionalProperties"] is False
    example = schema["example"]
    assert {"child_id", "iro_id"} <= set(example) and "child" not in example
    not_found = operation["responses"]["404"]
    assert not_found["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert "child_id" in not_found["description"] and "iro_id" in not_found["description"]


def test_a_child_with_the_longest_names_reviews_api_allows_can_be_disputed(
    api: TestClient,
) -> None:
    """Given and family names of 200 characters each: a 401-character name, stored whole (a
    200-character column made it a 500 on PostgreSQL)."""
    longest = {
        "id": str(uuid.uuid4()),
        "external_id": "LCS-LONG",
        "name": "A" * 200 + " " + "B" * 200,
    }
    announce(api, children=[longest])
    response = api.post(f"{V1}/disputes", json=raise_body(child_id=longest["id"]), headers=IRO)
    assert response.status_code == 201, response.text
    assert response.json()["child"]["name"] == longest["name"]
    read = api.get(f"{V1}/disputes/{response.json()['id']}", headers=IRO)
    assert read.status_code == 200, read.text
    assert read.json()["child"]["name"] == longest["name"]
