"""Booking and recording reviews through the API."""

from fastapi.testclient import TestClient

from .conftest import IRO, Builder


def test_first_review_in_time_is_stored_with_its_due_date(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    review = make.review(child["id"], "2017-05-02")
    assert review["due_by"] == "2017-05-04"
    assert review["sequence"] == "first"
    assert review["in_timescale"] is True
    assert review["period_started_on"] == "2017-04-03"
    assert review["created_by"] == "iro-1"


def test_late_review_without_a_reason_is_stored_out_of_timescale_with_none(
    api: TestClient, make: Builder
) -> None:
    """Issue 12: no longer a 422 `late-reason-required`; the review is stored, late, and
    listed on the late-reviews-without-reason worklist (test_late_without_reason.py)."""
    child = make.looked_after("2017-04-03")
    response = api.post(
        f"/reviews/v1/children/{child['id']}/reviews",
        json={"held_on": "2017-05-05", "participation_code": "PN1"},
        headers=IRO,
    )
    assert response.status_code == 201, response.text
    review = response.json()
    assert (review["due_by"], review["in_timescale"], review["late_reason"]) == (
        "2017-05-04",
        False,
        None,
    )
    listed = api.get(f"/reviews/v1/children/{child['id']}/reviews", headers=IRO).json()
    assert [r["id"] for r in listed] == [review["id"]]


def test_late_review_with_a_reason_is_recorded_out_of_timescale(
    api: TestClient, make: Builder
) -> None:
    child = make.looked_after("2017-04-03")
    review = make.review(child["id"], "2017-05-05", late_reason="missing_report")
    assert review["in_timescale"] is False
    assert review["late_reason"] == "missing_report"
