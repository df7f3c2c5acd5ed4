"""What the OpenAPI says a route takes and answers is what it does (the fuzz's findings)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import INTEGRATION, MANAGER, SUPPORT
from .imports import IMPORTS, upload
from .problems import assert_problem

V1 = "/reviews/v1"
HEADER = b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\nA1,1,01/02/2010,WBRI,,,\n"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/children", "GET, POST"),
        ("/iros", "GET, POST"),
        ("/iros/6f1d2c1e-8a3b-4c55-9a57-3c2f1f0b9e10", "GET, PATCH"),
        ("/children/6f1d2c1e-8a3b-4c55-9a57-3c2f1f0b9e10/allocations", "GET, POST"),
    ],
)
def test_a_405_allows_every_method_the_path_serves(
    api: TestClient, path: str, allowed: str
) -> None:
    response = api.options(f"{V1}{path}", headers=MANAGER)

    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == allowed


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("GET", "/imports/ssda903", "POST"), ("PATCH", "/iros/suggestion", "GET")],
)
def test_another_method_on_a_named_sibling_of_an_id_route_is_405(
    api: TestClient, method: str, path: str, allowed: str
) -> None:
    response = api.request(method, f"{V1}{path}", headers=MANAGER, json={})

    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == allowed


@pytest.mark.parametrize("path", ["/iros/suggestion-x", "/imports/not-a-job"])
def test_an_id_that_is_not_a_uuid_matches_no_route(api: TestClient, path: str) -> None:
    assert_problem(api.get(f"{V1}{path}", headers=MANAGER), 404, "not-found")


def test_an_upload_with_no_ssda903_file_is_422_and_starts_no_job(api: TestClient) -> None:
    # What a fuzzer's "number" in place of a file arrives as: a file holding digits.
    files = [("files", ("files", b"2.600059250261399e+16")), ("files", ("files", b"0.99999"))]
    response = upload(api, files)

    body = assert_problem(response, 422, "validation-error", "/files")
    assert "no file is an SSDA903 file" in body["errors"][0]["message"]
    assert api.get(IMPORTS, headers=SUPPORT).json()["items"] == []


def test_a_stray_file_beside_a_return_is_noted_not_refused(api: TestClient) -> None:
    files = [
        ("files", ("header.csv", HEADER, "text/csv")),
        ("files", ("notes.txt", b"remember the OC2 file", "text/plain")),
    ]

    assert upload(api, files).status_code == 202


def test_the_batch_schema_takes_any_item_as_the_route_does(api: TestClient) -> None:
    schema = api.get("/reviews/openapi.json").json()["components"]["schemas"]
    items = schema["IntegrationBatch"]["properties"]["items"]
    assert {} in items["items"]["anyOf"]  # documented: an item of any shape is taken...
    assert (items["minItems"], items["maxItems"]) == (1, 1000)

    response = api.post(
        f"{V1}/integration/batches",
        json={"items": [{"type": "plan_date", "child_external_id": "0", "kind": "pep_reviewed"}]},
        headers=INTEGRATION,
    )

    assert response.status_code == 200  # ...and fails alone, naming its field
    [result] = response.json()["results"]
    assert result["outcome"] == "failed"
    assert result["problem"]["errors"][0]["pointer"] == "/items/0/dated_on"
