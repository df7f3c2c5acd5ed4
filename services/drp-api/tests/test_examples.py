"""The OpenAPI examples (drp_api.disputes.examples) tell a story the state machine agrees with:
every date, stage, status, version and allowed transition is what drp-api would return."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from drp_api.disputes import examples, lifecycle
from drp_api.disputes.history import describe
from drp_api.disputes.lifecycle import DisputeState, Outcome
from drp_api.disputes.schemas import (
    ActionRead,
    DisputeRaise,
    DisputeRead,
    DisputeSummary,
    Escalation,
    ProcessRead,
    Reopening,
    Resolution,
    ResponseRecord,
    Withdrawal,
)
from drp_api.models import DisputeAction
from drp_api.settings import Settings
from drp_api.worklists.schemas import StageDue
from iro_kit.calendar import WorkingDayCalendar

RULES = Settings(environment="development").process_rules(WorkingDayCalendar())
TODAY = date(2017, 6, 30)


def _request(model: type) -> dict[str, Any]:
    return model.model_config["json_schema_extra"]["example"]


def _story() -> dict[str, tuple[int, DisputeState, date]]:
    """Each transition's version, resulting state and day, from the request examples."""
    raised_on = date.fromisoformat(_request(DisputeRaise)["raised_on"])
    day = {
        model: date.fromisoformat(_request(model)[model.date_field])
        for model in (ResponseRecord, Escalation, Resolution, Withdrawal, Reopening)
    }
    referred_on = date(2017, 5, 10)
    raised = lifecycle.raise_dispute(RULES, raised_on=raised_on, today=TODAY)
    responded = lifecycle.respond(raised, RULES, on=day[ResponseRecord], today=TODAY)
    escalated = lifecycle.escalate(
        responded,
        RULES,
        on=day[Escalation],
        today=TODAY,
        to_stage=_request(Escalation)["to_stage"],
    )
    outcomes = [Outcome(o) for o in _request(Resolution)["outcomes"]]
    resolved = lifecycle.resolve(
        escalated, RULES, outcomes=outcomes, on=day[Resolution], today=TODAY
    )
    reopened = lifecycle.reopen(resolved, RULES, on=day[Reopening], today=TODAY)
    referred = lifecycle.refer_to_cafcass(reopened, RULES, on=referred_on, today=TODAY)
    withdrawn = lifecycle.withdraw(responded, RULES, on=day[Withdrawal], today=TODAY)
    return {
        "raise": (1, raised, raised_on),
        "respond": (2, responded, day[ResponseRecord]),
        "escalate": (3, escalated, day[Escalation]),
        "resolve": (4, resolved, day[Resolution]),
        "reopen": (5, reopened, day[Reopening]),
        "refer_to_cafcass": (6, referred, referred_on),
        "withdraw": (3, withdrawn, day[Withdrawal]),
    }


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@pytest.mark.parametrize("transition", list(examples.DISPUTES))
def test_each_transition_example_is_the_dispute_the_transition_returns(transition: str) -> None:
    version, state, on = _story()[transition]
    example = examples.DISPUTES[transition]
    DisputeRead.model_validate(example)
    expected = {
        "version": version,
        "stage": state.stage,
        "stage_name": RULES.stage(state.stage).name,
        "status": state.status.value,
        "raised_on": _iso(state.raised_on),
        "stage_entered_on": _iso(state.stage_entered_on),
        "stage_due_by": _iso(state.stage_due_by),
        "overall_due_by": _iso(state.overall_due_by),
        "highest_stage": state.highest_stage,
        "last_action_on": _iso(state.last_action_on),
        "closed_on": _iso(state.closed_on),
        "outcomes": [o.value for o in state.outcomes],
        "allowed_transitions": [t.value for t in lifecycle.allowed_transitions(state, RULES, on)],
    }
    assert {k: example[k] for k in expected} == expected
    assert example["updated_at"][:10] == on.isoformat()
    last = example["stages"][-1]
    if transition in {"raise", "escalate", "reopen", "refer_to_cafcass"}:  # enter a stage
        assert (last["stage"], last["entered_on"]) == (state.stage, on.isoformat())
    assert last["due_by"] == _iso(state.stage_due_by)


def test_the_raise_example_is_the_raise_request_with_names_from_the_copy() -> None:
    request, raised = _request(DisputeRaise), examples.DISPUTES["raise"]
    assert raised["child"]["id"] == request["child_id"]
    assert raised["raised_by"]["id"] == request["iro_id"]
    for field in ("category", "themes", "issue", "outcome_sought"):
        assert raised[field] == request[field]
    assert set(raised["themes"]) <= set(examples.PROCESS["themes"])


def test_the_history_example_describes_each_action_as_drp_api_does() -> None:
    assert examples.HISTORY[-1] == examples.ACTION
    assert [a["version"] for a in examples.HISTORY] == [1, 2, 3]
    story = _story()
    for entry in examples.HISTORY:
        ActionRead.model_validate(entry)
        version, state, on = story[entry["action"]]
        assert (entry["version"], entry["happened_on"]) == (version, on.isoformat())
        assert (entry["stage"], entry["status"]) == (state.stage, state.status.value)
        assert entry["stage_due_by"] == _iso(state.stage_due_by)
        action = DisputeAction(
            action=entry["action"], details=entry["details"], stage=entry["stage"], outcomes=[]
        )
        assert entry["description"] == describe(action, RULES)
    assert examples.HISTORY[-1]["version"] == examples.DISPUTE["version"]


def test_the_worklist_and_summary_examples_are_the_escalated_dispute() -> None:
    StageDue.model_validate(examples.STAGE_DUE)
    DisputeSummary.model_validate(examples.DISPUTE_SUMMARY)
    due = examples.STAGE_DUE
    assert due["stage_due_by"] == examples.DISPUTE["stage_due_by"]
    as_at = date(2017, 4, 27)
    left = RULES.calendar.working_days_between(as_at, date.fromisoformat(due["stage_due_by"]))
    assert due["working_days_left"] == left
    assert due["overdue"] is lifecycle.stage_overdue(date.fromisoformat(due["stage_due_by"]), as_at)


def test_the_process_example_is_the_default_process() -> None:
    assert ProcessRead.model_validate(examples.PROCESS).model_dump(mode="json") == {
        **examples.PROCESS,
        "stages": [
            {
                "number": s.number,
                "name": s.name,
                "working_days": s.working_days,
                "cafcass": s.number == RULES.cafcass_stage,
            }
            for s in RULES.stages
        ],
        "outcomes": [o.value for o in Outcome],
        "categories": [c.value for c in lifecycle.Category],
    }


def test_the_stats_example_counts_as_drp_api_does() -> None:
    from drp_api.stats.schemas import DisputeStats

    stats = DisputeStats.model_config["json_schema_extra"]["example"]
    DisputeStats.model_validate(stats)
    assert [(s["stage"], s["name"]) for s in stats["by_highest_stage"]] == [
        (s.number, s.name) for s in RULES.stages
    ]
    assert list(stats["by_theme"]) == list(examples.PROCESS["themes"])
    assert list(stats["by_outcome"]) == [o.value for o in Outcome]
    assert sum(s["count"] for s in stats["by_highest_stage"]) == stats["raised"]
    assert sum(stats["by_category"].values()) == stats["raised"]
    assert sum(stats["by_status"].values()) == stats["raised"]
    assert stats["resolved_in_timescale"]["denominator"] == stats["by_status"]["resolved"]
