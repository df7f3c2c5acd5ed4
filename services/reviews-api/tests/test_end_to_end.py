"""One child from becoming looked after to leaving care, the schedule checked at every step."""

from fastapi.testclient import TestClient

from .conftest import INTEGRATION, IRO, MANAGER, Builder, if_match


def _worklist(api: TestClient, name: str, as_at: str, **params: str) -> list[dict]:
    response = api.get(
        f"/reviews/v1/worklists/{name}", params={"as_at": as_at, **params}, headers=IRO
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_child_through_three_reviews_to_leaving_care(api: TestClient, make: Builder) -> None:
    child = make.child(date_of_birth="2008-03-10")
    child_id = child["id"]
    episode = make.episode(child_id, "2017-04-03")

    # Looked after on Monday 3 April 2017: first review within 20 working days, across Easter.
    schedule = make.schedule(child_id, "2017-04-03")
    assert schedule["status"] == "plan_now"
    assert schedule["next_review"]["sequence"] == "first"
    assert schedule["next_review"]["due_by"]["date"] == "2017-05-04"
    assert schedule["next_review"]["due_by"]["counted_from"] == "2017-04-03"
    assert "20 working days" in schedule["next_review"]["due_by"]["explanation"]
    assert schedule["allocation_due_by"]["date"] == "2017-04-10"
    unallocated = _worklist(api, "unallocated-children", "2017-04-04")
    assert [(u["child"]["id"], u["allocation_due_by"]) for u in unallocated] == [
        (child_id, "2017-04-10")
    ]

    # Allocated to an IRO two days later.
    iro = make.iro("Alex Morgan", fte=0.5)
    response = api.post(
        f"/reviews/v1/children/{child_id}/allocations",
        json={"iro_id": iro["id"], "start_on": "2017-04-05"},
        headers=MANAGER,
    )
    assert response.status_code == 201, response.text
    assert _worklist(api, "unallocated-children", "2017-04-05") == []
    due = _worklist(api, "reviews-due", "2017-04-05", iro_id=iro["id"])
    assert [(d["child"]["id"], d["due_by"], d["iro"]["name"]) for d in due] == [
        (child_id, "2017-05-04", "Alex Morgan")
    ]

    # The review is booked for 2 May: the visit deadline is 5 working days before it
    # (1 May is a bank holiday), so 24 April.
    booking = api.post(
        f"/reviews/v1/children/{child_id}/reviews",
        json={"scheduled_for": "2017-05-02"},
        headers=IRO,
    )
    assert booking.status_code == 201, booking.text
    schedule = make.schedule(child_id, "2017-04-18")
    assert schedule["next_review"]["scheduled_for"] == "2017-05-02"
    assert schedule["next_review"]["visit_by"]["date"] == "2017-04-24"
    visits = _worklist(api, "pre-review-visits", "2017-04-18")
    assert [v["visit_by"] for v in visits] == ["2017-04-24"]

    # The IRO sees the child on 20 April; the visit worklist clears.
    response = api.post(
        f"/reviews/v1/children/{child_id}/visits",
        json={"kind": "pre_review", "visited_on": "2017-04-20", "iro_id": iro["id"]},
        headers=IRO,
    )
    assert response.status_code == 201, response.text
    assert _worklist(api, "pre-review-visits", "2017-04-21") == []

    # First review held on 2 May, completing the booking: in timescale.
    first = make.review(child_id, "2017-05-02", views_method="in_person")
    assert first["id"] == booking.json()["id"]
    assert (first["sequence"], first["due_by"], first["in_timescale"]) == (
        "first",
        "2017-05-04",
        True,
    )

    # Second review: 91 days after the first (2017-08-01); book by 20 working days before.
    schedule = make.schedule(child_id, "2017-05-03")
    assert schedule["status"] == "not_due_yet"
    next_review = schedule["next_review"]
    assert next_review["sequence"] == "second"
    assert next_review["due_by"]["date"] == "2017-08-01"
    assert next_review["due_by"]["counted_from"] == "2017-05-02"
    assert next_review["plan_by"]["date"] == "2017-07-04"
    assert next_review["midway_on"]["date"] == "2017-06-16"
    assert next_review["visit_from"] == "2017-05-03"
    assert make.schedule(child_id, "2017-07-04")["status"] == "plan_now"
    assert make.schedule(child_id, "2017-07-20")["status"] == "due_soon"

    # The second review is held late, on 3 August, with a reason. Replaying 2 August shows it
    # overdue then, whatever was recorded later.
    second = make.review(child_id, "2017-08-03", late_reason="non_attendance_social_worker")
    assert (second["sequence"], second["due_by"], second["in_timescale"]) == (
        "second",
        "2017-08-01",
        False,
    )
    assert make.schedule(child_id, "2017-08-02")["status"] == "overdue"
    overdue = _worklist(api, "overdue-reviews", "2017-08-02", iro_id=iro["id"])
    assert [(o["child"]["id"], o["working_days_left"]) for o in overdue] == [(child_id, -1)]

    # The clock restarts from the late review's held date: 183 days on, 2 February 2018.
    schedule = make.schedule(child_id, "2017-08-04")
    assert schedule["next_review"]["sequence"] == "subsequent"
    assert schedule["next_review"]["due_by"]["date"] == "2018-02-02"
    assert [r["in_timescale"] for r in schedule["reviews"]] == [True, False]

    third = make.review(child_id, "2018-01-30", participation_code="PN5", views_method="advocate")
    assert (third["sequence"], third["due_by"], third["in_timescale"]) == (
        "subsequent",
        "2018-02-02",
        True,
    )
    assert make.schedule(child_id, "2018-02-01")["next_review"]["due_by"]["date"] == "2018-08-01"

    # Leaving care on 15 March 2018: no further review falls due.
    response = api.patch(
        f"/reviews/v1/episodes/{episode['id']}",
        json={"end_on": "2018-03-15", "reason_ended": "E11"},
        headers=if_match(episode, INTEGRATION),
    )
    assert response.status_code == 200, response.text
    after = make.schedule(child_id, "2018-03-20")
    assert after["status"] == "ended"
    assert after["next_review"] is None
    assert after["looked_after"] is False
    assert make.schedule(child_id, "2018-03-01")["next_review"]["due_by"]["date"] == "2018-08-01"
    assert _worklist(api, "reviews-due", "2018-03-20", within="130") == []
