"""Secure accommodation placements and their review panels (Secure Accommodation Regs reg 15):
first review within 1 calendar month of placement, then at most every 3 calendar months."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import INTEGRATION, IRO, PERFORMANCE, Builder, if_match
from .problems import assert_problem

V1 = "/reviews/v1"
PANEL = [
    {"name": "IRO One", "independent": False, "role": "IRO"},
    {"name": "IRO Two", "independent": False, "role": "IRO"},
    {"name": "Consortium IRO", "independent": True, "role": "IRO"},
]


def _place(api: TestClient, child: dict[str, Any], **body: Any) -> Any:
    return api.post(
        f"{V1}/children/{child['id']}/secure-placements", json=body, headers=INTEGRATION
    )


def _placement(api: TestClient, make: Builder, start_on: str, **body: Any) -> dict[str, Any]:
    response = _place(api, make.child(date_of_birth="2003-02-01"), start_on=start_on, **body)
    assert response.status_code == 201, response.text
    return response.json()


def _review(api: TestClient, placement: dict[str, Any], held_on: str, panel: Any = None) -> Any:
    return api.post(
        f"{V1}/secure-placements/{placement['id']}/reviews",
        json={"held_on": held_on, "panel": PANEL if panel is None else panel},
        headers=IRO,
    )


def _next_due(api: TestClient, placement: dict[str, Any], as_at: str) -> dict[str, Any] | None:
    response = api.get(
        f"{V1}/children/{placement['child_id']}/secure-placements",
        params={"as_at": as_at},
        headers=IRO,
    )
    assert response.status_code == 200, response.text
    (listed,) = [p for p in response.json() if p["id"] == placement["id"]]
    return listed["next_review_due_by"]


def test_a_placement_is_201_with_its_first_review_due_a_calendar_month_later(
    api: TestClient, make: Builder
) -> None:
    child = make.child(date_of_birth="2003-02-01")

    response = _place(api, child, start_on="2017-06-15")

    assert response.status_code == 201, response.text
    placement = response.json()
    assert response.headers["Location"] == f"{V1}/secure-placements/{placement['id']}"
    due = placement["next_review_due_by"]
    assert (due["date"], due["rule"], due["counted_from"]) == (
        "2017-07-15",
        "secure_first",
        "2017-06-15",
    )


def test_a_review_with_a_valid_panel_is_recorded_against_its_due_date(
    api: TestClient, make: Builder
) -> None:
    placement = _placement(api, make, "2017-06-15")

    response = _review(api, placement, "2017-07-10")

    assert response.status_code == 201, response.text
    review = response.json()
    assert response.headers["Location"] == f"{V1}/secure-placements/{placement['id']}/reviews"
    assert (review["held_on"], review["due_by"], review["in_timescale"]) == (
        "2017-07-10",
        "2017-07-15",
        True,
    )
    assert review["panel"] == PANEL
    assert review["created_by"] == "iro-1"


def test_later_reviews_fall_due_3_calendar_months_after_the_last(
    api: TestClient, make: Builder
) -> None:
    placement = _placement(api, make, "2017-06-15")
    _review(api, placement, "2017-07-10")

    late = _review(api, placement, "2017-10-12").json()

    assert (late["due_by"], late["in_timescale"]) == ("2017-10-10", False)
    assert _next_due(api, placement, "2017-07-01")["date"] == "2017-07-15"  # replayed
    due = _next_due(api, placement, "2017-07-11")
    assert (due["date"], due["rule"], due["counted_from"]) == (
        "2017-10-10",
        "secure_subsequent",
        "2017-07-10",
    )
    assert _next_due(api, placement, "2017-10-13")["date"] == "2018-01-12"


def test_a_month_after_the_31st_is_the_last_day_of_a_shorter_month(
    api: TestClient, make: Builder
) -> None:
    placement = _placement(api, make, "2017-01-31")
    assert _next_due(api, placement, "2017-02-01")["date"] == "2017-02-28"

    _review(api, placement, "2017-02-28")

    assert _next_due(api, placement, "2017-03-01")["date"] == "2017-05-28"


def test_recording_an_earlier_review_reassesses_the_later_one(
    api: TestClient, make: Builder
) -> None:
    placement = _placement(api, make, "2017-06-15")
    _review(api, placement, "2017-10-12")
    _review(api, placement, "2017-07-10")

    reviews = api.get(f"{V1}/secure-placements/{placement['id']}/reviews", headers=IRO).json()

    assert [(r["held_on"], r["due_by"], r["in_timescale"]) for r in reviews] == [
        ("2017-07-10", "2017-07-15", True),
        ("2017-10-12", "2017-10-10", False),
    ]


@pytest.mark.parametrize(
    "panel",
    [PANEL[1:], PANEL[:1], []],
    ids=["two-members", "one-member", "nobody"],
)
def test_a_panel_of_fewer_than_three_is_422_naming_the_panel(
    api: TestClient, make: Builder, panel: list[dict[str, Any]]
) -> None:
    placement = _placement(api, make, "2017-06-15")

    response = _review(api, placement, "2017-07-10", panel=panel)

    body = assert_problem(response, 422, "validation-error", "/panel")
    assert "at least 3" in body["errors"][0]["message"]


def test_a_panel_without_an_independent_member_is_422(api: TestClient, make: Builder) -> None:
    placement = _placement(api, make, "2017-06-15")
    own_staff = [{**member, "independent": False} for member in PANEL]

    response = _review(api, placement, "2017-07-10", panel=own_staff)

    assert_problem(response, 422, "validation-error", "/panel")
    assert api.get(f"{V1}/secure-placements/{placement['id']}/reviews", headers=IRO).json() == []


@pytest.mark.parametrize("held_on", ["2017-06-14", "2017-12-01", "2999-01-01"])
def test_a_review_outside_the_placement_is_422(
    api: TestClient, make: Builder, held_on: str
) -> None:
    placement = _placement(api, make, "2017-06-15", end_on="2017-11-30")
    response = _review(api, placement, held_on)
    assert_problem(response, 422, "validation-error", "/held_on")


def test_once_a_placement_has_ended_no_review_falls_due(api: TestClient, make: Builder) -> None:
    placement = _placement(api, make, "2017-06-15")

    response = api.patch(
        f"{V1}/secure-placements/{placement['id']}",
        json={"end_on": "2017-11-30"},
        headers=if_match(placement, INTEGRATION),
    )

    assert response.status_code == 200, response.text
    assert response.json()["end_on"] == "2017-11-30"
    assert _next_due(api, placement, "2017-11-29")["date"] == "2017-07-15"
    assert _next_due(api, placement, "2017-12-01") is None


def test_a_placement_ending_before_it_starts_is_422(api: TestClient, make: Builder) -> None:
    placement = _placement(api, make, "2017-06-15")
    response = api.patch(
        f"{V1}/secure-placements/{placement['id']}",
        json={"end_on": "2017-06-14"},
        headers=if_match(placement, INTEGRATION),
    )
    assert_problem(response, 422, "validation-error", "/end_on")
    assert _next_due(api, placement, "2017-07-01")["date"] == "2017-07-15"


def test_a_placement_before_the_child_was_born_is_422(api: TestClient, make: Builder) -> None:
    child = make.child(date_of_birth="2003-02-01")
    response = _place(api, child, start_on="2003-01-31")
    assert_problem(response, 422, "validation-error", "/start_on")


def test_unknown_children_and_placements_are_404(api: TestClient) -> None:
    unknown = str(uuid.uuid4())
    assert_problem(_place(api, {"id": unknown}, start_on="2017-06-15"), 404, "not-found")
    for response in (
        api.get(f"{V1}/children/{unknown}/secure-placements", headers=IRO),
        api.get(f"{V1}/secure-placements/{unknown}/reviews", headers=IRO),
        _review(api, {"id": unknown}, "2017-07-10"),
        api.patch(
            f"{V1}/secure-placements/{unknown}",
            json={"end_on": "2017-11-30"},
            headers=INTEGRATION,
        ),
    ):
        assert_problem(response, 404, "not-found")


def test_roles_for_secure_accommodation(api: TestClient, make: Builder) -> None:
    child = make.child(date_of_birth="2003-02-01")
    placement = _placement(api, make, "2017-06-15")

    by_an_iro = api.post(
        f"{V1}/children/{child['id']}/secure-placements",
        json={"start_on": "2017-06-15"},
        headers=IRO,
    )
    by_performance = api.post(
        f"{V1}/secure-placements/{placement['id']}/reviews",
        json={"held_on": "2017-07-10", "panel": PANEL},
        headers=PERFORMANCE,
    )

    assert_problem(by_an_iro, 403, "forbidden")
    assert_problem(by_performance, 403, "forbidden")
