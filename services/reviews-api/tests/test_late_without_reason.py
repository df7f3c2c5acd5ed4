"""A late review without a recorded reason (issue 12): stored, editable, and on a worklist.

It was a 422 `late-reason-required` on every write, so a late review the SSDA903 import had
stored (a return carries no reasons) could not even have its notes corrected. Now it is stored
and edited like any other, and listed on the data-quality worklist late-reviews-without-reason
until a reason is recorded. A reason given must still be a known code (`other` with text), and
is still refused on a review held in timescale.

The PATCHes send `If-Match` with the review's version as read.

    child     looked after   first review due   held          late reason
    april_3   2017-04-03     2017-05-04         2017-05-05    none          (Alex from 5 Apr)
    march_1   2017-03-01     2017-03-29         2017-04-03    none
    reasoned  2017-04-03     2017-05-04         2017-05-08    missing_report
    in_time   2017-04-03     2017-05-04         2017-05-02    -
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import INTEGRATION, IRO, MANAGER, PERFORMANCE, Builder
from .imports import DATA, run_import
from .problems import assert_problem

V1 = "/reviews/v1"
WORKLIST = f"{V1}/worklists/late-reviews-without-reason"


def _patch(api: TestClient, review: dict[str, Any], **body: Any) -> Any:
    headers = {**IRO, "If-Match": f'"{review["version"]}"'}
    return api.patch(f"{V1}/reviews/{review['id']}", json=body, headers=headers)


def _worklist(api: TestClient, **params: Any) -> dict[str, Any]:
    response = api.get(WORKLIST, params=params, headers=IRO)
    assert response.status_code == 200, response.text
    return response.json()


def _listed(api: TestClient, **params: Any) -> list[str]:
    return [item["review_id"] for item in _worklist(api, **params)["items"]]


@pytest.fixture
def reviews(api: TestClient, make: Builder) -> dict[str, Any]:
    april_3, march_1 = make.looked_after("2017-04-03"), make.looked_after("2017-03-01")
    reasoned, in_time = make.looked_after("2017-04-03"), make.looked_after("2017-04-03")
    alex = make.iro("Alex")
    allocated = api.post(
        f"{V1}/children/{april_3['id']}/allocations",
        json={"iro_id": alex["id"], "start_on": "2017-04-05"},
        headers=MANAGER,
    )
    assert allocated.status_code == 201, allocated.text
    return {
        "alex": alex,
        "april_3_child": april_3,
        "april_3": make.review(april_3["id"], "2017-05-05"),
        "march_1": make.review(march_1["id"], "2017-04-03"),
        "reasoned": make.review(reasoned["id"], "2017-05-08", late_reason="missing_report"),
        "in_time": make.review(in_time["id"], "2017-05-02"),
    }


def test_a_late_review_without_a_reason_is_stored_late_with_none(reviews: dict) -> None:
    late = reviews["april_3"]
    assert (late["due_by"], late["in_timescale"], late["late_reason"]) == (
        "2017-05-04",
        False,
        None,
    )


def test_patching_only_the_notes_of_a_late_review_without_a_reason_is_200(
    api: TestClient, reviews: dict
) -> None:
    late = reviews["april_3"]
    response = _patch(api, late, notes="Minutes attached.")
    assert response.status_code == 200, response.text  # was 422 late-reason-required
    patched = response.json()
    assert (patched["notes"], patched["late_reason"], patched["in_timescale"]) == (
        "Minutes attached.",
        None,
        False,
    )
    assert patched["version"] == late["version"] + 1
    stored = api.get(f"{V1}/reviews/{late['id']}", headers=IRO).json()
    assert stored["notes"] == "Minutes attached."


def test_the_worklist_lists_late_reviews_without_a_reason_oldest_first(
    api: TestClient, reviews: dict
) -> None:
    listed = _worklist(api, count="true")
    assert [i["review_id"] for i in listed["items"]] == [
        reviews["march_1"]["id"],
        reviews["april_3"]["id"],
    ]
    assert listed["total"] == 2
    march_1, april_3 = listed["items"]
    assert april_3 == {
        "review_id": reviews["april_3"]["id"],
        "version": reviews["april_3"]["version"],
        "child": {
            "id": reviews["april_3_child"]["id"],
            "external_id": reviews["april_3_child"]["external_id"],
            "name": f"Sam {reviews['april_3_child']['family_name']}",
        },
        "iro": {"id": reviews["alex"]["id"], "name": "Alex"},  # allocated on the day held
        "sequence": "first",
        "held_on": "2017-05-05",
        "due_by": "2017-05-04",
        "days_late": 1,
    }
    assert (march_1["iro"], march_1["due_by"], march_1["days_late"]) == (None, "2017-03-29", 5)


def test_the_worklist_filters_by_iro_and_pages(api: TestClient, reviews: dict) -> None:
    assert _listed(api, iro_id=reviews["alex"]["id"]) == [reviews["april_3"]["id"]]
    first = _worklist(api, limit=1)
    assert [i["review_id"] for i in first["items"]] == [reviews["march_1"]["id"]]
    second = _worklist(api, limit=1, cursor=first["next_cursor"])
    assert [i["review_id"] for i in second["items"]] == [reviews["april_3"]["id"]]
    assert second["next_cursor"] is None


def test_a_review_leaves_the_worklist_once_a_reason_is_patched_in(
    api: TestClient, reviews: dict
) -> None:
    late = reviews["april_3"]
    assert late["id"] in _listed(api)
    noted = _patch(api, late, notes="Minutes attached.")
    assert noted.status_code == 200, noted.text
    assert late["id"] in _listed(api)  # editing something else leaves it listed

    reasoned = _patch(api, noted.json(), late_reason="late_notification")
    assert reasoned.status_code == 200, reasoned.text
    assert reasoned.json()["late_reason"] == "late_notification"
    assert _listed(api) == [reviews["march_1"]["id"]]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"late_reason": "forgot"}, "/late_reason"),  # not a code
        ({"late_reason": "other"}, "/late_reason_text"),  # other needs its text
    ],
)
def test_a_reason_given_on_a_late_review_is_still_validated(
    api: TestClient, reviews: dict, body: dict[str, Any], pointer: str
) -> None:
    assert_problem(_patch(api, reviews["april_3"], **body), 422, "validation-error", pointer)
    assert reviews["april_3"]["id"] in _listed(api)


def test_a_reason_on_a_review_held_in_timescale_is_still_refused(
    api: TestClient, reviews: dict
) -> None:
    response = _patch(api, reviews["in_time"], late_reason="missing_report")
    assert_problem(response, 422, "validation-error", "/late_reason")


def test_a_correction_that_brings_a_review_into_timescale_drops_it(
    api: TestClient, reviews: dict
) -> None:
    response = _patch(api, reviews["april_3"], held_on="2017-05-04")
    assert response.status_code == 200, response.text
    assert response.json()["in_timescale"] is True
    assert _listed(api) == [reviews["march_1"]["id"]]


def test_the_worklist_is_read_by_the_reading_roles_only(api: TestClient, reviews: dict) -> None:
    assert api.get(WORKLIST, headers=PERFORMANCE).status_code == 200
    assert_problem(api.get(WORKLIST, headers=INTEGRATION), 403, "forbidden")
    assert_problem(api.get(WORKLIST), 401, "unauthorized")


def test_late_reviews_an_ssda903_import_stored_are_listed_and_editable(api: TestClient) -> None:
    run_import(api, DATA / "year1")
    expected = []
    children = api.get(f"{V1}/children", params={"limit": 500}, headers=IRO).json()["items"]
    for child in children:
        for review in api.get(f"{V1}/children/{child['id']}/reviews", headers=IRO).json():
            if review["in_timescale"] is False and review["late_reason"] is None:
                expected.append((review["held_on"], child["external_id"], review["id"]))
    assert expected, "the year1 return has a late review (A1's third, 2018-02-05)"
    assert _listed(api, limit=500) == [r for _, _, r in sorted(expected)]

    imported = api.get(f"{V1}/reviews/{sorted(expected)[0][2]}", headers=IRO).json()
    response = _patch(api, imported, notes="Checked against the minutes.")
    assert response.status_code == 200, response.text
    assert response.json()["notes"] == "Checked against the minutes."


def test_an_imported_late_review_gets_its_views_method_and_late_reason_afterwards(
    api: TestClient,
) -> None:
    # Issue 13: the return carries neither, so the review loads with "not recorded" (null) and
    # the IRO adds them through the API; importing the return again keeps what was added.
    run_import(api, DATA / "year1")
    found = api.get(f"{V1}/children", params={"external_id": "A1"}, headers=IRO).json()
    child = found["items"][0]
    reviews = api.get(f"{V1}/children/{child['id']}/reviews", headers=IRO).json()
    [late] = [r for r in reviews if r["in_timescale"] is False]
    assert (late["held_on"], late["views_method"], late["late_reason"]) == (
        "2018-02-05",
        None,
        None,
    )
    assert late["id"] in _listed(api)

    response = _patch(api, late, views_method="momo", late_reason="missing_report")

    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["views_method"], patched["late_reason"], patched["in_timescale"]) == (
        "momo",
        "missing_report",
        False,
    )
    assert late["id"] not in _listed(api)
    again = run_import(api, DATA / "year1")
    assert again["summary"]["reviews"] == {"created": 0, "updated": 0}
    stored = api.get(f"{V1}/reviews/{late['id']}", headers=IRO).json()
    assert (stored["views_method"], stored["late_reason"], stored["version"]) == (
        "momo",
        "missing_report",
        patched["version"],
    )
