"""Series of meetings, corrections and deletions: every review of the child is reassessed.

The child is looked after from Monday 3 April 2017: first review due by 4 May 2017 (Easter and
1 May skipped); the second 91 days after the first, the next 183 days after that.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from .conftest import IRO, PERFORMANCE, Builder, if_match
from .problems import assert_problem

V1 = "/reviews/v1"


def _get(api: TestClient, review: dict[str, Any]) -> dict[str, Any]:
    response = api.get(f"{V1}/reviews/{review['id']}", headers=IRO)
    assert response.status_code == 200, response.text
    return response.json()


def _assessed(review: dict[str, Any]) -> tuple[str | None, str | None, bool | None]:
    return review["sequence"], review["due_by"], review["in_timescale"]


def _delete(api: TestClient, path: str, body: dict[str, Any], record: dict[str, Any]) -> Any:
    return api.request("DELETE", path, json=body, headers=if_match(record, IRO))


def test_a_series_started_in_time_and_concluded_late_is_late_for_a_series_of_meetings(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")

    review = make.review(child["id"], "2017-05-09", series_started_on="2017-05-03")

    assert _assessed(review) == ("first", "2017-05-04", False)
    assert review["late_reason"] == "series_of_meetings"
    assert review["series_started_on"] == "2017-05-03"
    assessed = make.schedule(child["id"], "2017-05-10")["reviews"]
    assert [(r["held_on"], r["days_late"]) for r in assessed] == [("2017-05-09", 5)]


def test_a_series_that_started_late_is_not_given_series_of_meetings(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")

    response = api.post(
        f"{V1}/children/{child['id']}/reviews",
        json={
            "held_on": "2017-05-09",
            "series_started_on": "2017-05-05",
            "participation_code": "PN1",
        },
        headers=IRO,
    )

    # Stored late with no reason (issue 12: no longer a 422 late-reason-required): the
    # series started after the due date, so "series of meetings" is not the reason.
    assert response.status_code == 201, response.text
    assert _assessed(response.json()) == ("first", "2017-05-04", False)
    assert response.json()["late_reason"] is None


def test_a_series_concluded_in_time_is_in_timescale_without_a_reason(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    review = make.review(child["id"], "2017-05-04", series_started_on="2017-04-27")
    assert _assessed(review) == ("first", "2017-05-04", True)
    assert review["late_reason"] is None


def test_a_reason_given_for_a_late_series_is_kept(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    review = make.review(
        child["id"], "2017-05-09", series_started_on="2017-05-03", late_reason="missing_report"
    )
    assert review["late_reason"] == "missing_report"


def test_holding_the_first_review_earlier_brings_the_second_due_date_forward(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    first = make.review(child["id"], "2017-05-02")
    second = make.review(child["id"], "2017-07-25")
    assert _assessed(second) == ("second", "2017-08-01", True)

    response = api.patch(
        f"{V1}/reviews/{first['id']}", json={"held_on": "2017-04-20"}, headers=if_match(first, IRO)
    )

    assert response.status_code == 200, response.text
    assert _assessed(response.json()) == ("first", "2017-05-04", True)
    # 91 days after 20 April 2017 is 20 July: the second review, held on 25 July, is now late.
    assert _assessed(_get(api, second)) == ("second", "2017-07-20", False)
    due_by = make.schedule(child["id"], "2017-07-26")["next_review"]["due_by"]
    assert (due_by["date"], due_by["counted_from"]) == ("2018-01-24", "2017-07-25")


def test_holding_the_first_review_later_puts_a_late_second_back_in_timescale(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    first = make.review(child["id"], "2017-05-02")
    second = make.review(child["id"], "2017-08-03", late_reason="non_attendance_social_worker")
    assert _assessed(second) == ("second", "2017-08-01", False)

    response = api.patch(
        f"{V1}/reviews/{first['id']}", json={"held_on": "2017-05-04"}, headers=if_match(first, IRO)
    )

    assert response.status_code == 200, response.text
    # 91 days after 4 May 2017 is 3 August.
    assert _assessed(_get(api, second)) == ("second", "2017-08-03", True)


def test_deleting_a_review_reassesses_the_ones_after_it(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    first = make.review(child["id"], "2017-05-02")
    second = make.review(child["id"], "2017-07-25")

    response = _delete(
        api, f"{V1}/reviews/{first['id']}", {"reason": "Recorded for the wrong child"}, first
    )

    assert response.status_code == 204, response.text
    assert _assessed(_get(api, second)) == ("first", "2017-05-04", False)
    listed = api.get(f"{V1}/children/{child['id']}/reviews", headers=IRO).json()
    assert [r["id"] for r in listed] == [second["id"]]
    assert_problem(api.get(f"{V1}/reviews/{first['id']}", headers=IRO), 404, "not-found")
    # The next review now counts from 25 July as the second: 91 days on is 24 October.
    next_review = make.schedule(child["id"], "2017-07-26")["next_review"]
    assert (next_review["sequence"], next_review["due_by"]["date"]) == ("second", "2017-10-24")


def test_deleting_a_review_needs_a_reason(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    review = make.review(child["id"], "2017-05-02")
    path = f"{V1}/reviews/{review['id']}"

    assert_problem(_delete(api, path, {}, review), 422, "validation-error", "/reason")
    assert_problem(_delete(api, path, {"reason": "no"}, review), 422, "validation-error", "/reason")
    assert _get(api, review) == review


def test_deleting_an_unknown_review_is_404(api: TestClient) -> None:
    response = _delete(api, f"{V1}/reviews/{uuid.uuid4()}", {"reason": "Duplicate"}, {"version": 1})
    assert_problem(response, 404, "not-found")


def test_deleting_a_review_twice_is_404(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    review = make.review(child["id"], "2017-05-02")
    path = f"{V1}/reviews/{review['id']}"
    assert _delete(api, path, {"reason": "Duplicate"}, review).status_code == 204
    assert_problem(_delete(api, path, {"reason": "Duplicate"}, review), 404, "not-found")


def test_performance_may_read_but_not_correct_a_review(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    review = make.review(child["id"], "2017-05-02")
    path = f"{V1}/reviews/{review['id']}"

    assert api.get(path, headers=PERFORMANCE).status_code == 200
    refused = api.patch(path, json={"notes": "Changed"}, headers=PERFORMANCE)
    assert_problem(refused, 403, "forbidden")
    deleted = api.request("DELETE", path, json={"reason": "Duplicate"}, headers=PERFORMANCE)
    assert_problem(deleted, 403, "forbidden")
    assert _get(api, review)["notes"] is None


def test_a_review_brought_into_timescale_by_a_correction_loses_its_late_reason(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    first = make.review(child["id"], "2017-05-02")
    # Due 2017-08-01 (91 days after 2 May); held 3 August: late.
    second = make.review(child["id"], "2017-08-03", late_reason="missing_report")
    assert second["in_timescale"] is False
    # The first review was really held on 4 May: the second was due 3 August, so in time.
    response = api.patch(
        f"/reviews/v1/reviews/{first['id']}",
        json={"held_on": "2017-05-04"},
        headers=if_match(first, IRO),
    )
    assert response.status_code == 200, response.text
    corrected = api.get(f"/reviews/v1/reviews/{second['id']}", headers=IRO).json()
    assert (corrected["due_by"], corrected["in_timescale"]) == ("2017-08-03", True)
    assert corrected["late_reason"] is None
