"""Worklists: who needs what next, most urgent first, filtered by IRO and paginated.

Four children, created in an order that is not their order of urgency (so the lists must be
sorted by date, not by the case system's id). First reviews fall 20 working days after the
child became looked after, counted by hand (Good Friday 14 April, Easter Monday 17 April and
1 May 2017 are not working days):

    child           looked after   allocation due by   first review due by
    april_10        2017-04-10     2017-04-19          2017-05-11
    april_3         2017-04-03     2017-04-10          2017-05-04
    march_8         2017-03-08     2017-03-15          2017-04-05
    march_1         2017-03-01     2017-03-08          2017-03-29
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import IRO, MANAGER, Builder
from .problems import assert_problem

WORKLISTS = "/reviews/v1/worklists"


def _worklist(api: TestClient, name: str, as_at: str, **params: str) -> dict[str, Any]:
    response = api.get(f"{WORKLISTS}/{name}", params={"as_at": as_at, **params}, headers=IRO)
    assert response.status_code == 200, response.text
    return response.json()


def _items(api: TestClient, name: str, as_at: str, **params: str) -> list[dict[str, Any]]:
    return _worklist(api, name, as_at, **params)["items"]


@pytest.fixture
def children(api: TestClient, make: Builder) -> dict[str, Any]:
    made = {
        name: make.looked_after(start)
        for name, start in (
            ("april_10", "2017-04-10"),
            ("april_3", "2017-04-03"),
            ("march_8", "2017-03-08"),
            ("march_1", "2017-03-01"),
        )
    }
    made["alex"], made["blake"] = make.iro("Alex"), make.iro("Blake")
    for child, iro, start_on in (
        ("april_3", "alex", "2017-04-05"),
        ("april_10", "blake", "2017-04-12"),
    ):
        response = api.post(
            f"/reviews/v1/children/{made[child]['id']}/allocations",
            json={"iro_id": made[iro]["id"], "start_on": start_on},
            headers=MANAGER,
        )
        assert response.status_code == 201, response.text
    return made


def _ids(children: dict[str, Any], *names: str) -> list[str]:
    return [children[name]["id"] for name in names]


def test_reviews_due_soonest_first_leaving_out_overdue_ones(
    api: TestClient, children: dict[str, Any]
) -> None:
    due = _items(api, "reviews-due", "2017-04-18")

    assert [d["child"]["id"] for d in due] == _ids(children, "april_3", "april_10")
    first, second = due
    assert (first["due_by"], first["working_days_left"], first["sequence"]) == (
        "2017-05-04",
        11,  # 19-21 and 24-28 April, 2-4 May
        "first",
    )
    assert (first["plan_by"], first["status"], first["iro"]["name"]) == (
        "2017-04-03",
        "plan_now",
        "Alex",
    )
    assert (second["due_by"], second["working_days_left"], second["iro"]["name"]) == (
        "2017-05-11",
        16,
        "Blake",
    )
    assert first["child"]["external_id"] == children["april_3"]["external_id"]


@pytest.mark.parametrize(
    ("within", "expected"),
    [("10", []), ("11", ["april_3"]), ("15", ["april_3"]), ("16", ["april_3", "april_10"])],
)
def test_reviews_due_within_n_working_days(
    api: TestClient, children: dict[str, Any], within: str, expected: list[str]
) -> None:
    due = _items(api, "reviews-due", "2017-04-18", within=within)
    assert [d["child"]["id"] for d in due] == _ids(children, *expected)


def test_reviews_due_for_one_iro(api: TestClient, children: dict[str, Any]) -> None:
    for_blake = _items(api, "reviews-due", "2017-04-18", iro_id=children["blake"]["id"])
    assert [d["child"]["id"] for d in for_blake] == _ids(children, "april_10")
    # Blake's allocation starts on 12 April: on the 11th the child is nobody's.
    assert _items(api, "reviews-due", "2017-04-11", iro_id=children["blake"]["id"]) == []


def test_overdue_reviews_most_overdue_first(api: TestClient, children: dict[str, Any]) -> None:
    overdue = _items(api, "overdue-reviews", "2017-04-18")

    assert [o["child"]["id"] for o in overdue] == _ids(children, "march_1", "march_8")
    assert [(o["due_by"], o["working_days_left"], o["status"]) for o in overdue] == [
        ("2017-03-29", -12, "overdue"),
        ("2017-04-05", -7, "overdue"),
    ]
    assert [o["iro"] for o in overdue] == [None, None]
    assert _items(api, "overdue-reviews", "2017-04-18", iro_id=children["alex"]["id"]) == []


def test_a_review_is_overdue_from_the_day_after_its_due_date(
    api: TestClient, children: dict[str, Any]
) -> None:
    on_the_day = _items(api, "overdue-reviews", "2017-03-29")
    day_after = _items(api, "overdue-reviews", "2017-03-30")
    assert on_the_day == []
    assert [o["child"]["id"] for o in day_after] == _ids(children, "march_1")


def test_unallocated_children_by_allocation_deadline(
    api: TestClient, children: dict[str, Any]
) -> None:
    unallocated = _items(api, "unallocated-children", "2017-04-11")

    assert [u["child"]["id"] for u in unallocated] == _ids(
        children, "march_1", "march_8", "april_10"
    )
    assert [
        (u["looked_after_since"], u["allocation_due_by"], u["working_days_left"], u["overdue"])
        for u in unallocated
    ] == [
        ("2017-03-01", "2017-03-08", -24, True),
        ("2017-03-08", "2017-03-15", -19, True),
        ("2017-04-10", "2017-04-19", 4, False),  # 12, 13, 18 and 19 April
    ]


def test_pre_review_visits_by_deadline_until_the_iro_visits(
    api: TestClient, make: Builder, children: dict[str, Any]
) -> None:
    child_id = children["april_3"]["id"]
    booked = api.post(
        f"/reviews/v1/children/{child_id}/reviews",
        json={"scheduled_for": "2017-05-02"},
        headers=IRO,
    )
    assert booked.status_code == 201, booked.text

    visits = _items(api, "pre-review-visits", "2017-04-18")

    assert [v["child"]["id"] for v in visits] == _ids(
        children, "march_1", "march_8", "april_3", "april_10"
    )
    # 5 working days before the booked date, or before the due date when none is booked.
    assert [(v["visit_by"], v["scheduled_for"]) for v in visits] == [
        ("2017-03-22", None),
        ("2017-03-29", None),
        ("2017-04-24", "2017-05-02"),  # 1 May is a bank holiday
        ("2017-05-04", None),
    ]
    assert visits[2]["working_days_left"] == 4
    soon = _items(api, "pre-review-visits", "2017-04-18", within="5")
    assert [v["child"]["id"] for v in soon] == _ids(children, "march_1", "march_8", "april_3")
    for_alex = _items(api, "pre-review-visits", "2017-04-18", iro_id=children["alex"]["id"])
    assert [v["child"]["id"] for v in for_alex] == [child_id]

    visit = api.post(
        f"/reviews/v1/children/{child_id}/visits",
        json={"kind": "pre_review", "visited_on": "2017-04-18"},
        headers=IRO,
    )
    assert visit.status_code == 201, visit.text
    assert _items(api, "pre-review-visits", "2017-04-18", iro_id=children["alex"]["id"]) == []
    # Replaying the day before, the visit had not happened yet.
    assert len(_items(api, "pre-review-visits", "2017-04-13", iro_id=children["alex"]["id"])) == 1


def test_midway_reviews_due_until_one_is_recorded(api: TestClient, make: Builder) -> None:
    child = make.looked_after("2017-04-03")
    make.looked_after("2017-04-03")  # no review held yet: no midway point
    make.review(child["id"], "2017-05-02")

    due = _items(api, "midway-reviews", "2017-06-01")

    # Second review due 1 August: halfway from 2 May is 45 days on, 16 June.
    assert [
        (m["child"]["id"], m["previous_review_on"], m["midway_on"], m["review_due_by"]) for m in due
    ] == [(child["id"], "2017-05-02", "2017-06-16", "2017-08-01")]
    # Within 5 working days of 1 June is up to 8 June: not yet.
    assert _items(api, "midway-reviews", "2017-06-01", within="5") == []

    midway = api.post(
        f"/reviews/v1/children/{child['id']}/visits",
        json={"kind": "midway", "visited_on": "2017-06-14"},
        headers=IRO,
    )
    assert midway.status_code == 201, midway.text
    assert _items(api, "midway-reviews", "2017-06-15") == []
    assert len(_items(api, "midway-reviews", "2017-06-13")) == 1


def test_a_worklist_a_page_at_a_time(api: TestClient, children: dict[str, Any]) -> None:
    first = _worklist(api, "unallocated-children", "2017-04-11", limit="2", count="true")
    rest = _worklist(api, "unallocated-children", "2017-04-11", cursor=first["next_cursor"])

    assert [u["child"]["id"] for u in first["items"] + rest["items"]] == _ids(
        children, "march_1", "march_8", "april_10"
    )
    assert (len(first["items"]), first["total"]) == (2, 3)
    assert rest["next_cursor"] is None
    assert _worklist(api, "unallocated-children", "2017-04-11")["total"] is None


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"within": "131"}, "/within"),
        ({"within": "-1"}, "/within"),
        ({"as_at": "2017-02-30"}, "/as_at"),
        ({"cursor": "garbage"}, "/cursor"),
        ({"iro_id": "alex"}, "/iro_id"),
    ],
)
def test_bad_worklist_parameters_are_422(
    api: TestClient, params: dict[str, str], pointer: str
) -> None:
    response = api.get(f"{WORKLISTS}/reviews-due", params=params, headers=IRO)
    body = assert_problem(response, 422, "validation-error", pointer)
    assert body["errors"][0]["location"] == "query"


def test_a_child_who_has_left_care_is_on_no_worklist(api: TestClient, make: Builder) -> None:
    child = make.child()
    make.episode(child["id"], "2017-04-03", end_on="2017-04-07", reason_ended="E11")
    for name in ("reviews-due", "overdue-reviews", "unallocated-children", "pre-review-visits"):
        assert _items(api, name, "2017-04-10", within="130") == [], name
