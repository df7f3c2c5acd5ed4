"""Children through the API: adding, correcting, finding and listing them a page at a time."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from .conftest import INTEGRATION, IRO, MANAGER, SUPPORT, Builder, if_match
from .problems import assert_problem

CHILDREN = "/reviews/v1/children"


def _child_body(external_id: str = "LCS-100234", **fields: str) -> dict[str, str]:
    return {
        "external_id": external_id,
        "given_name": "Sam",
        "family_name": "Taylor",
        "date_of_birth": "2010-06-15",
        "sex": "female",
        **fields,
    }


def test_adding_a_child_returns_201_and_its_location(api: TestClient) -> None:
    response = api.post(CHILDREN, json=_child_body(), headers=INTEGRATION)

    assert response.status_code == 201, response.text
    child = response.json()
    assert response.headers["Location"] == f"{CHILDREN}/{child['id']}"
    assert (child["external_id"], child["date_of_birth"], child["version"]) == (
        "LCS-100234",
        "2010-06-15",
        1,
    )
    assert child["created_at"].endswith("Z")
    stored = api.get(response.headers["Location"], headers=IRO)
    assert stored.status_code == 200
    assert stored.json() == child


def test_business_support_may_add_a_child(api: TestClient) -> None:
    response = api.post(CHILDREN, json=_child_body(), headers=SUPPORT)
    assert response.status_code == 201, response.text


def test_a_second_child_with_the_same_external_id_is_a_409_naming_the_first(
    api: TestClient,
) -> None:
    first = api.post(CHILDREN, json=_child_body(), headers=INTEGRATION).json()

    response = api.post(
        CHILDREN, json=_child_body(given_name="Someone", family_name="Else"), headers=INTEGRATION
    )

    body = assert_problem(response, 409, "already-recorded")
    assert body["existing_id"] == first["id"]
    listed = api.get(CHILDREN, params={"count": "true"}, headers=IRO).json()
    assert listed["total"] == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("date_of_birth", "2010-02-30"),
        ("sex", "U"),  # the SSDA903 code; the API's value is `unknown`
        ("external_id", ""),
        ("given_name", ""),
    ],
)
def test_a_child_with_an_invalid_field_is_422_naming_it(
    api: TestClient, field: str, value: str
) -> None:
    response = api.post(CHILDREN, json=_child_body(**{field: value}), headers=INTEGRATION)

    assert_problem(response, 422, "validation-error", f"/{field}")
    assert api.get(CHILDREN, headers=IRO).json()["items"] == []


def test_a_child_of_unknown_sex_is_recorded_as_unknown(api: TestClient) -> None:
    # Issue 13: the case system (and a 2024/25 903 return, SEX U) may not know a child's sex.
    response = api.post(CHILDREN, json=_child_body(sex="unknown"), headers=INTEGRATION)

    assert response.status_code == 201, response.text
    read = api.get(f"{CHILDREN}/{response.json()['id']}", headers=IRO).json()
    assert read["sex"] == "unknown"


def test_a_child_with_an_unknown_field_is_422(api: TestClient) -> None:
    response = api.post(CHILDREN, json=_child_body(nickname="Sammy"), headers=INTEGRATION)
    assert_problem(response, 422, "validation-error", "/nickname")


def test_an_unknown_child_is_404(api: TestClient) -> None:
    response = api.get(f"{CHILDREN}/{uuid.uuid4()}", headers=IRO)
    assert_problem(response, 404, "not-found")


def test_a_child_id_that_is_not_a_uuid_is_422_naming_the_path_parameter(api: TestClient) -> None:
    response = api.get(f"{CHILDREN}/LCS-1", headers=IRO)
    body = assert_problem(response, 422, "validation-error", "/child_id")
    assert body["errors"][0]["location"] == "path"


def test_correcting_a_childs_name_keeps_the_rest_and_bumps_the_version(
    api: TestClient, make: Builder
) -> None:
    child = make.child(family_name="Taylor")

    response = api.patch(
        f"{CHILDREN}/{child['id']}",
        json={"family_name": "Jones"},
        headers=if_match(child, INTEGRATION),
    )

    assert response.status_code == 200, response.text
    corrected = response.json()
    assert corrected["family_name"] == "Jones"
    assert corrected["given_name"] == child["given_name"]
    assert corrected["date_of_birth"] == child["date_of_birth"]
    assert corrected["version"] == 2
    assert api.get(f"{CHILDREN}/{child['id']}", headers=IRO).json()["family_name"] == "Jones"


def test_clearing_a_required_field_of_a_child_is_422(api: TestClient, make: Builder) -> None:
    child = make.child()

    response = api.patch(
        f"{CHILDREN}/{child['id']}", json={"given_name": None}, headers=if_match(child, INTEGRATION)
    )

    assert_problem(response, 422, "validation-error", "/given_name")
    assert api.get(f"{CHILDREN}/{child['id']}", headers=IRO).json()["version"] == 1


def test_correcting_an_unknown_child_is_404(api: TestClient) -> None:
    response = api.patch(
        f"{CHILDREN}/{uuid.uuid4()}", json={"family_name": "Jones"}, headers=INTEGRATION
    )
    assert_problem(response, 404, "not-found")


def test_children_are_listed_by_family_name_a_page_at_a_time(
    api: TestClient, make: Builder
) -> None:
    for family_name in ("Evans", "Brown", "Davies", "Adams", "Clarke"):
        make.child(family_name=family_name)

    names, cursor, pages = [], None, 0
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = api.get(CHILDREN, params=params, headers=IRO)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        assert len(page["items"]) <= 2
        assert page["total"] is None  # only when asked for
        names += [c["family_name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert names == ["Adams", "Brown", "Clarke", "Davies", "Evans"]
    assert pages == 3


def test_the_total_is_given_only_when_asked_for(api: TestClient, make: Builder) -> None:
    for _ in range(3):
        make.child()

    counted = api.get(CHILDREN, params={"limit": "1", "count": "true"}, headers=IRO).json()

    assert counted["total"] == 3
    assert len(counted["items"]) == 1
    assert counted["next_cursor"] is not None


def test_the_default_page_is_50_children(api: TestClient, make: Builder) -> None:
    for _ in range(51):
        make.child()

    page = api.get(CHILDREN, headers=IRO).json()

    assert len(page["items"]) == 50
    rest = api.get(CHILDREN, params={"cursor": page["next_cursor"]}, headers=IRO).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJvIjogLTF9", "e30"])
def test_a_cursor_the_api_did_not_issue_is_422(api: TestClient, cursor: str) -> None:
    response = api.get(CHILDREN, params={"cursor": cursor}, headers=IRO)

    body = assert_problem(response, 422, "validation-error", "/cursor")
    assert body["errors"][0]["location"] == "query"


@pytest.mark.parametrize("limit", ["0", "501", "many"])
def test_a_limit_outside_1_to_500_is_422(api: TestClient, limit: str) -> None:
    response = api.get(CHILDREN, params={"limit": limit}, headers=IRO)
    assert_problem(response, 422, "validation-error", "/limit")


def test_children_can_be_found_by_the_case_systems_id(api: TestClient, make: Builder) -> None:
    make.child(external_id="LCS-1")
    wanted = make.child(external_id="LCS-2")

    found = api.get(CHILDREN, params={"external_id": "LCS-2"}, headers=IRO).json()["items"]
    missing = api.get(CHILDREN, params={"external_id": "LCS-9"}, headers=IRO).json()["items"]

    assert [c["id"] for c in found] == [wanted["id"]]
    assert missing == []


def test_children_can_be_filtered_by_their_current_iro(api: TestClient, make: Builder) -> None:
    alex, blake = make.iro("Alex"), make.iro("Blake")
    moved = make.looked_after("2017-04-03", family_name="Moved")
    stayed = make.looked_after("2017-04-03", family_name="Stayed")
    make.looked_after("2017-04-03", family_name="Unallocated")

    def allocate(child: dict, iro: dict, start_on: str) -> None:
        response = api.post(
            f"{CHILDREN}/{child['id']}/allocations",
            json={"iro_id": iro["id"], "start_on": start_on},
            headers=MANAGER,
        )
        assert response.status_code == 201, response.text

    allocate(moved, alex, "2017-04-05")
    allocate(stayed, alex, "2017-04-05")
    allocate(moved, blake, "2017-06-01")  # Alex's allocation of this child has ended

    def names(iro: dict) -> list[str]:
        items = api.get(CHILDREN, params={"iro_id": iro["id"]}, headers=IRO).json()["items"]
        return [c["family_name"] for c in items]

    assert names(alex) == ["Stayed"]
    assert names(blake) == ["Moved"]
    assert api.get(CHILDREN, params={"iro_id": "nobody"}, headers=IRO).status_code == 422


def test_date_of_birth_after_the_first_episode_is_refused(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    response = api.patch(
        f"/reviews/v1/children/{child['id']}",
        json={"date_of_birth": "2017-05-01"},
        headers=if_match(child, INTEGRATION),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/date_of_birth"
    assert api.get(f"/reviews/v1/children/{child['id']}", headers=IRO).json()["date_of_birth"] == (
        "2010-06-15"
    )
