"""Disputes through the API: raised, taken through all five stages, resolved at stage 1,
withdrawn and reopened, listed and found."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from .conftest import ALEX, BLAKE, CHILD, IRO, MANAGER, PERFORMANCE, V1, Disputes


def test_a_raised_dispute_gets_a_reference_deadlines_and_its_first_etag(
    api: TestClient, disputes: Disputes
) -> None:
    response = api.post(
        f"{V1}/disputes",
        json={
            "child_id": CHILD["id"],
            "category": "lac",
            "iro_id": ALEX["id"],
            "raised_on": "2017-04-13",
            "themes": ["drift_and_delay"],
            "issue": "No permanence plan.",
            "outcome_sought": "A permanence meeting by 28 April.",
        },
        headers=IRO,
    )

    assert response.status_code == 201, response.text
    dispute = response.json()
    assert response.headers["Location"] == f"{V1}/disputes/{dispute['id']}"
    assert response.headers["ETag"] == '"1"'
    assert dispute["reference"] == "DRP-2017-0001"
    assert (dispute["child"], dispute["raised_by"], dispute["category"]) == (CHILD, ALEX, "lac")
    assert (dispute["stage"], dispute["status"], dispute["version"]) == (1, "open", 1)
    assert dispute["stage_due_by"] == "2017-04-24"  # 5 working days across Easter
    assert dispute["overall_due_by"] == "2017-05-16"  # 20 working days
    assert dispute["allowed_transitions"] == [
        "respond",
        "escalate",
        "refer_to_cafcass",
        "resolve",
        "withdraw",
    ]
    assert dispute["created_by"] == "iro-1"
    assert dispute["stages"] == [
        {
            "stage": 1,
            "name": "Informal resolution (social worker and team manager)",
            "entered_on": "2017-04-13",
            "due_by": "2017-04-24",
            "asked": None,
            "responses": [],
        }
    ]
    got = api.get(f"{V1}/disputes/{dispute['id']}", headers=PERFORMANCE)
    assert got.json() == dispute
    assert got.headers["ETag"] == '"1"'


def test_references_count_up_within_the_year_raised(disputes: Disputes) -> None:
    first = disputes.raise_(raised_on="2017-12-29")
    second = disputes.raise_(raised_on="2017-03-01")
    next_year = disputes.raise_(raised_on="2018-01-02")
    assert [first["reference"], second["reference"], next_year["reference"]] == [
        "DRP-2017-0001",
        "DRP-2017-0002",
        "DRP-2018-0001",
    ]


def test_the_full_life_of_a_dispute_through_all_five_stages(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    dispute_id = dispute["id"]
    steps = [
        ("respond", "2017-04-05", {"responder": {"name": "Jo Bloggs", "role": "Team manager"}}),
        ("escalate", "2017-04-07", {"asked": {"name": "Pat Singh", "role": "Service manager"}}),
        ("respond", "2017-04-11", {"responder": {"name": "Pat Singh"}}),
        ("escalate", "2017-04-12", {"asked": {"name": "Lee Chan", "role": "Head of service"}}),
        ("respond", "2017-04-19", {"responder": {"name": "Lee Chan"}}),
        ("escalate", "2017-04-20", {"asked": {"name": "Dr Rao", "role": "Director"}}),
        ("respond", "2017-04-26", {"responder": {"name": "Dr Rao"}}),
    ]
    stages_and_due = []
    for verb, on, fields in steps:
        after = disputes.act(dispute_id, verb, on, **fields)
        stages_and_due.append((after["stage"], after["stage_due_by"]))
    assert stages_and_due == [
        (1, "2017-04-10"),
        (2, "2017-04-18"),  # 10-13 April, then 18 April (Good Friday and Easter Monday)
        (2, "2017-04-18"),
        (3, "2017-04-21"),
        (3, "2017-04-21"),
        (4, "2017-04-27"),
        (4, "2017-04-27"),
    ]
    assert after["allowed_transitions"] == ["respond", "refer_to_cafcass", "resolve", "withdraw"]

    referred = disputes.act(dispute_id, "refer-to-cafcass", "2017-04-28", asked={"name": "Cafcass"})

    assert (referred["stage"], referred["stage_name"]) == (5, "Referral to Cafcass")
    assert (referred["status"], referred["closed_on"]) == ("referred_to_cafcass", "2017-04-28")
    assert (referred["stage_due_by"], referred["highest_stage"]) == (None, 5)
    assert (referred["version"], disputes.etags[dispute_id]) == (9, '"9"')
    assert referred["allowed_transitions"] == []
    stages = referred["stages"]
    assert [(s["stage"], s["entered_on"], s["due_by"]) for s in stages] == [
        (1, "2017-04-03", "2017-04-10"),
        (2, "2017-04-07", "2017-04-18"),
        (3, "2017-04-12", "2017-04-21"),
        (4, "2017-04-20", "2017-04-27"),
        (5, "2017-04-28", None),
    ]
    assert [s["asked"]["name"] for s in stages] == [
        "Jo Bloggs",
        "Pat Singh",
        "Lee Chan",
        "Dr Rao",
        "Cafcass",
    ]
    assert [[r["responder"]["name"] for r in s["responses"]] for s in stages] == [
        ["Jo Bloggs"],
        ["Pat Singh"],
        ["Lee Chan"],
        ["Dr Rao"],
        [],
    ]
    assert [e["action"] for e in disputes.history(dispute_id)] == [
        "raise",
        *[verb for verb, _, _ in steps],
        "refer_to_cafcass",
    ]


def test_resolution_at_stage_1(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-13")
    disputes.act(dispute["id"], "respond", "2017-04-18")

    resolved = disputes.act(
        dispute["id"],
        "resolve",
        "2017-04-19",
        outcomes=["care_plan_improved", "more_timely_decision"],
        summary="Permanence meeting booked for 25 April.",
    )

    assert (resolved["status"], resolved["stage"], resolved["highest_stage"]) == ("resolved", 1, 1)
    assert resolved["outcomes"] == ["care_plan_improved", "more_timely_decision"]
    assert (resolved["closed_on"], resolved["last_action_on"]) == ("2017-04-19", "2017-04-19")
    assert resolved["version"] == 3
    last = disputes.history(dispute["id"])[-1]
    assert (last["action"], last["status"], last["details"]["summary"]) == (
        "resolve",
        "resolved",
        "Permanence meeting booked for 25 April.",
    )


def test_withdrawn_then_reopened_at_the_same_stage(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03", stage=2)
    withdrawn = disputes.act(dispute["id"], "withdraw", "2017-04-04", reason="Went home.")
    assert (withdrawn["status"], withdrawn["closed_on"]) == ("withdrawn", "2017-04-04")

    reopened = disputes.act(dispute["id"], "reopen", "2017-04-06", reason="Came back.")

    assert (reopened["status"], reopened["stage"], reopened["closed_on"]) == ("open", 2, None)
    assert (reopened["stage_entered_on"], reopened["stage_due_by"]) == ("2017-04-06", "2017-04-13")
    assert reopened["overall_due_by"] == dispute["overall_due_by"]
    assert [s["entered_on"] for s in reopened["stages"]] == ["2017-04-03", "2017-04-06"]


def test_a_bypass_escalation_skips_stages(disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    after = disputes.act(dispute["id"], "escalate", "2017-04-04", to_stage=4, reason="Urgent.")
    assert (after["stage"], after["highest_stage"]) == (4, 4)
    assert [s["stage"] for s in after["stages"]] == [1, 4]


def test_disputes_are_listed_newest_first_filtered_and_paginated(
    api: TestClient, disputes: Disputes
) -> None:
    made = [
        disputes.raise_(raised_on=f"2017-04-{day:02d}", raised_by=ALEX if day % 2 else BLAKE)
        for day in (3, 4, 5, 6, 7)
    ]
    disputes.act(made[0]["id"], "withdraw", "2017-04-10")

    def listed(**params: object) -> dict:
        response = api.get(f"{V1}/disputes", params=params, headers=PERFORMANCE)
        assert response.status_code == 200, response.text
        return response.json()

    first = listed(limit=2, count="true")
    assert [d["reference"] for d in first["items"]] == ["DRP-2017-0005", "DRP-2017-0004"]
    assert first["total"] == 5
    second = listed(limit=2, cursor=first["next_cursor"])
    third = listed(limit=2, cursor=second["next_cursor"])
    assert [d["reference"] for d in second["items"] + third["items"]] == [
        "DRP-2017-0003",
        "DRP-2017-0002",
        "DRP-2017-0001",
    ]
    assert third["next_cursor"] is None
    assert "stages" not in first["items"][0]

    assert [d["reference"] for d in listed(status="withdrawn")["items"]] == ["DRP-2017-0001"]
    by_blake = listed(iro_id=BLAKE["id"], sort="reference")["items"]
    assert [d["reference"] for d in by_blake] == ["DRP-2017-0002", "DRP-2017-0004"]
    assert len(listed(child_external_id=CHILD["external_id"])["items"]) == 5
    assert listed(child_id=str(uuid.uuid4()))["items"] == []
    assert listed(reference="DRP-2017-0003")["items"][0]["id"] == made[2]["id"]
    assert listed(category="cp")["items"] == []


def test_the_process_lists_stages_themes_and_outcomes(api: TestClient) -> None:
    process = api.get(f"{V1}/process", headers=MANAGER).json()
    assert [(s["number"], s["working_days"], s["cafcass"]) for s in process["stages"]] == [
        (1, 5, False),
        (2, 5, False),
        (3, 5, False),
        (4, 5, False),
        (5, None, True),
    ]
    assert process["stages"][3]["name"] == "Director of children's services"
    assert (process["overall_working_days"], process["reopen_window_working_days"]) == (20, 20)
    assert process["themes"]["quality_of_reports_assessments"] == "Quality of reports/assessments"
    assert len(process["themes"]) == 12
    assert "more_timely_decision" in process["outcomes"]
    assert process["categories"] == ["lac", "cp"]
