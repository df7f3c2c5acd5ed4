"""Statistics over a period and the stage worklist, on the `april_2017` disputes (conftest.py).

A: LAC, Alex, raised 3 Apr, escalated to 2 on 7 Apr (due 18 Apr), resolved 20 Apr after 11
working days, care plan improved. B: CP, Blake, raised 10 Apr, stage 1 due 19 Apr, never acted
on. C: LAC, Alex, raised at stage 3 on 12 Apr (due 21 Apr), referred to Cafcass 24 Apr.
D: LAC, Alex, raised 19 Apr (due 26 Apr), withdrawn 21 Apr.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import BLAKE, PERFORMANCE, V1, Disputes
from .problems import assert_problem


def _stats(api: TestClient, **params: str) -> dict[str, Any]:
    response = api.get(f"{V1}/stats", params=params, headers=PERFORMANCE)
    assert response.status_code == 200, response.text
    return response.json()


def test_statistics_of_a_month(api: TestClient, april_2017: dict) -> None:
    stats = _stats(api, **{"from": "2017-04-01", "to": "2017-04-30"})

    assert (stats["from"], stats["to"], stats["category"]) == ("2017-04-01", "2017-04-30", None)
    assert stats["raised"] == 4
    assert stats["by_category"] == {"lac": 3, "cp": 1}
    themes = {k: v for k, v in stats["by_theme"].items() if v}
    assert themes == {"care_planning": 2, "contact": 2, "drift_and_delay": 1, "placement": 1}
    assert stats["by_theme"]["health"] == 0
    assert [(s["stage"], s["count"]) for s in stats["by_highest_stage"]] == [
        (1, 2),
        (2, 1),
        (3, 0),
        (4, 0),
        (5, 1),
    ]
    assert stats["by_status"] == {
        "open": 1,
        "resolved": 1,
        "withdrawn": 1,
        "referred_to_cafcass": 1,
    }
    assert {k: v for k, v in stats["by_outcome"].items() if v} == {"care_plan_improved": 1}
    assert (stats["open_on_to"], stats["overdue_on_to"]) == (1, 1)  # B
    assert stats["resolved_in_timescale"] == {"numerator": 1, "denominator": 1, "value": 100.0}
    assert stats["median_working_days_to_resolution"] == 11.0


def test_statistics_read_each_dispute_as_it_stood_at_the_end_of_the_period(
    api: TestClient, april_2017: dict
) -> None:
    stats = _stats(api, **{"from": "2017-04-01", "to": "2017-04-19"})

    assert stats["raised"] == 4
    assert stats["by_status"]["open"] == 4  # A resolved on the 20th, C referred on the 24th
    assert [s["count"] for s in stats["by_highest_stage"]] == [2, 1, 1, 0, 0]
    assert (stats["open_on_to"], stats["overdue_on_to"]) == (4, 1)  # A's stage was due the 18th
    assert stats["resolved_in_timescale"] == {"numerator": 0, "denominator": 0, "value": None}
    assert stats["median_working_days_to_resolution"] is None


def test_statistics_for_looked_after_children_only(api: TestClient, april_2017: dict) -> None:
    stats = _stats(api, **{"from": "2017-04-01", "to": "2017-04-30", "category": "lac"})
    assert (stats["raised"], stats["by_category"], stats["open_on_to"]) == (
        3,
        {"lac": 3, "cp": 0},
        0,
    )


def test_disputes_raised_before_the_period_count_only_as_open_on_its_last_day(
    api: TestClient, april_2017: dict
) -> None:
    stats = _stats(api, **{"from": "2017-04-11", "to": "2017-04-30"})
    assert stats["raised"] == 2  # C and D
    assert stats["open_on_to"] == 1  # B, raised on the 10th


def test_resolution_after_the_overall_timescale_counts_against_it(
    api: TestClient, disputes: Disputes
) -> None:
    late = disputes.raise_(raised_on="2017-04-03")  # overall due 4 May
    disputes.act(late["id"], "resolve", "2017-05-05")
    on_time = disputes.raise_(raised_on="2017-04-03")
    disputes.act(on_time["id"], "resolve", "2017-05-04")
    stats = _stats(api, **{"from": "2017-04-01", "to": "2017-05-31"})
    assert stats["resolved_in_timescale"] == {"numerator": 1, "denominator": 2, "value": 50.0}
    assert stats["median_working_days_to_resolution"] == 20.5


def test_the_default_period_is_the_12_months_to_today(api: TestClient) -> None:
    stats = _stats(api, to="2017-03-31")
    assert (stats["from"], stats["to"]) == ("2016-04-01", "2017-03-31")
    body = assert_problem(
        api.get(
            f"{V1}/stats", params={"from": "2017-05-01", "to": "2017-04-30"}, headers=PERFORMANCE
        ),
        422,
        "validation-error",
        "/from",
    )
    assert body["errors"][0]["location"] == "query"


def _due(api: TestClient, as_at: str, **params: str) -> list[dict[str, Any]]:
    response = api.get(
        f"{V1}/worklists/stages-due", params={"as_at": as_at, **params}, headers=PERFORMANCE
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


@pytest.mark.parametrize(
    ("within", "expected"),
    [
        ("0", ["DRP-2017-0001"]),
        ("2", ["DRP-2017-0001", "DRP-2017-0002"]),
        ("3", ["DRP-2017-0001", "DRP-2017-0002", "DRP-2017-0003"]),  # 19, 20, 21 April
    ],
)
def test_stages_due_within_n_working_days(
    api: TestClient, april_2017: dict, within: str, expected: list[str]
) -> None:
    due = _due(api, "2017-04-18", within=within)
    assert [d["reference"] for d in due] == expected
    first = due[0]
    assert (first["stage_due_by"], first["working_days_left"], first["overdue"]) == (
        "2017-04-18",
        0,
        False,
    )
    assert (first["iro"]["name"], first["stage"]) == ("Alex Morgan", 2)


def test_overdue_stages_come_first_and_one_iros_list_is_theirs_alone(
    api: TestClient, april_2017: dict
) -> None:
    due = _due(api, "2017-04-20")  # default look-ahead: 2 working days
    assert [(d["reference"], d["working_days_left"], d["overdue"]) for d in due] == [
        ("DRP-2017-0002", -1, True),
        ("DRP-2017-0003", 1, False),
    ]
    assert due[1]["stage_name"] == "Head of service"
    assert [d["reference"] for d in _due(api, "2017-04-20", iro_id=BLAKE["id"])] == [
        "DRP-2017-0002"
    ]
    # C went to Cafcass on the 24th: no internal deadline, and closed.
    assert [d["reference"] for d in _due(api, "2017-04-24", within="10")] == ["DRP-2017-0002"]


def test_the_worklist_is_paginated(api: TestClient, disputes: Disputes) -> None:
    for day in ("03", "04", "05"):
        disputes.raise_(raised_on=f"2017-04-{day}")
    first = api.get(
        f"{V1}/worklists/stages-due",
        params={"as_at": "2017-04-20", "limit": 2, "count": "true"},
        headers=PERFORMANCE,
    ).json()
    assert (len(first["items"]), first["total"]) == (2, 3)
    assert first["items"][0]["working_days_left"] < 0
    assert_problem(
        api.get(f"{V1}/worklists/stages-due", params={"within": "-1"}, headers=PERFORMANCE),
        422,
        "validation-error",
        "/within",
    )
