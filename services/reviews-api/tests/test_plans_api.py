"""Plan dates: kept as history, the latest of each kind on or before any past day."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from reviews_api.plans.history import PlanDateFacts, PlanKind, latest_of_each, latest_on_or_before

from .conftest import INTEGRATION, IRO, PERFORMANCE

V1 = "/reviews/v1"
CARE_PLAN, PEP = PlanKind.care_plan_updated, PlanKind.pep_reviewed


def _plan(kind: str, dated_on: str, child: str = "LCS-1") -> dict[str, Any]:
    return {"type": "plan_date", "child_external_id": child, "kind": kind, "dated_on": dated_on}


def _setup(api: TestClient, *plans: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    child = {
        "type": "child",
        "external_id": "LCS-1",
        "date_of_birth": "2010-06-15",
        "sex": "male",
    }
    response = api.post(
        f"{V1}/integration/batches", json={"items": [child, *plans]}, headers=INTEGRATION
    )
    assert response.status_code == 200, response.text
    return response.json()["results"][0]["id"], response.json()


def test_latest_on_or_before_counts_only_what_was_dated_by_then() -> None:
    history = [
        PlanDateFacts(CARE_PLAN, date(2017, 1, 10)),
        PlanDateFacts(CARE_PLAN, date(2017, 7, 1)),
        PlanDateFacts(PEP, date(2017, 3, 1)),
    ]

    assert latest_on_or_before(history, CARE_PLAN, date(2017, 6, 30)) == date(2017, 1, 10)
    assert latest_on_or_before(history, CARE_PLAN, date(2017, 7, 1)) == date(2017, 7, 1)
    assert latest_on_or_before(history, CARE_PLAN, date(2017, 1, 9)) is None
    assert latest_on_or_before(history, PlanKind.pathway_plan_updated, date(2018, 1, 1)) is None
    assert latest_of_each(history, date(2017, 4, 1))[PEP] == date(2017, 3, 1)


def test_plan_dates_are_kept_as_history_newest_first(api: TestClient) -> None:
    child_id, _ = _setup(
        api,
        _plan("care_plan_updated", "2017-01-10"),
        _plan("care_plan_updated", "2017-07-01"),
        _plan("pep_reviewed", "2017-03-01"),
        _plan("health_assessment_completed", "2017-02-14"),
    )

    body = api.get(f"{V1}/children/{child_id}/plan-dates", headers=IRO).json()

    assert [(p["kind"], p["dated_on"], p["source"]) for p in body["items"]] == [
        ("care_plan_updated", "2017-07-01", "integration"),
        ("pep_reviewed", "2017-03-01", "integration"),
        ("health_assessment_completed", "2017-02-14", "integration"),
        ("care_plan_updated", "2017-01-10", "integration"),
    ]
    assert body["items"][0]["recorded_by"] == "lcs"
    assert body["latest"] == {
        "care_plan_updated": "2017-07-01",
        "pep_reviewed": "2017-03-01",
        "health_assessment_completed": "2017-02-14",
        "pathway_plan_updated": None,
        "leaving_care_assessment_started": None,
    }


def test_a_past_day_sees_only_the_plan_dates_dated_by_then(api: TestClient) -> None:
    child_id, _ = _setup(
        api, _plan("care_plan_updated", "2017-01-10"), _plan("care_plan_updated", "2017-07-01")
    )

    body = api.get(
        f"{V1}/children/{child_id}/plan-dates",
        params={"as_at": "2017-06-30", "kind": "care_plan_updated"},
        headers=PERFORMANCE,
    ).json()

    assert body["as_at"] == "2017-06-30"
    assert body["latest"]["care_plan_updated"] == "2017-01-10"
    assert [p["dated_on"] for p in body["items"]] == ["2017-01-10"]


def test_the_same_plan_date_again_is_not_a_new_row(api: TestClient) -> None:
    child_id, first = _setup(api, _plan("pep_reviewed", "2017-03-01"))

    _, again = _setup(api, _plan("pep_reviewed", "2017-03-01"))

    assert [r["outcome"] for r in first["results"]] == ["created", "created"]
    assert [r["outcome"] for r in again["results"]] == ["unchanged", "unchanged"]
    items = api.get(f"{V1}/children/{child_id}/plan-dates", headers=IRO).json()["items"]
    assert len(items) == 1


def test_a_plan_date_before_birth_or_in_the_future_fails_alone(api: TestClient) -> None:
    _, body = _setup(
        api,
        _plan("care_plan_updated", "2009-01-01"),
        _plan("care_plan_updated", "2098-01-01"),
        _plan("pathway_plan_updated", "2017-01-01"),
    )

    assert [r["outcome"] for r in body["results"]] == ["created", "failed", "failed", "created"]
    messages = [r["problem"]["errors"][0]["message"] for r in body["results"][1:3]]
    assert messages == ["is before the child's date of birth", "is in the future"]


def test_an_unknown_plan_kind_names_the_field(api: TestClient) -> None:
    _, body = _setup(api, _plan("care_plan", "2017-01-01"))

    assert body["results"][1]["problem"]["errors"][0]["pointer"] == "/items/1/kind"


def test_annual_outcomes_are_empty_until_an_oc2_file_is_imported(api: TestClient) -> None:
    child_id, _ = _setup(api)

    assert api.get(f"{V1}/children/{child_id}/annual-outcomes", headers=IRO).json() == []
