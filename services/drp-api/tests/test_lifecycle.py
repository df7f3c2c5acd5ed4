"""The DRP state machine, without a database: every transition allowed or refused, bypasses,
Cafcass from every stage, dates. Deadlines and the reopen window: test_lifecycle_deadlines.py.

Default process (DOMAIN.md): stages 1-4 inside the authority with 5 working days each, stage 5
the referral to Cafcass with no deadline; 20 working days overall; reopen within 20 working
days of closing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from drp_api.disputes import lifecycle
from drp_api.disputes.lifecycle import (
    DisputeState,
    InvalidInput,
    Outcome,
    ProcessRules,
    Status,
    Transition,
    TransitionRefused,
)
from drp_api.settings import Settings
from iro_kit.calendar import WorkingDayCalendar

RULES = Settings(environment="development").process_rules(WorkingDayCalendar())
RAISED = date(2017, 4, 13)  # Thursday before Good Friday
LATER = date(2017, 4, 19)
TODAY = date(2017, 6, 30)


def opened(stage: int = 1, rules: ProcessRules = RULES) -> DisputeState:
    return lifecycle.raise_dispute(rules, raised_on=RAISED, today=TODAY, stage=stage)


def resolved() -> DisputeState:
    outcomes = [Outcome.care_plan_improved]
    return lifecycle.resolve(opened(2), RULES, outcomes=outcomes, on=LATER, today=TODAY)


def withdrawn() -> DisputeState:
    return lifecycle.withdraw(opened(1), RULES, on=LATER, today=TODAY)


def referred() -> DisputeState:
    return lifecycle.refer_to_cafcass(opened(3), RULES, on=LATER, today=TODAY)


STATES: dict[str, Callable[[], DisputeState]] = {
    "open at stage 1": lambda: opened(1),
    "open at stage 2": lambda: opened(2),
    "open at stage 3": lambda: opened(3),
    "open at stage 4": lambda: opened(4),
    "resolved": resolved,
    "withdrawn": withdrawn,
    "referred to Cafcass": referred,
}

ON = date(2017, 4, 20)  # after every state's last action, inside the reopen window


def take(transition: Transition, state: DisputeState, on: date = ON) -> DisputeState:
    kw = {"on": on, "today": TODAY}
    match transition:
        case Transition.respond:
            return lifecycle.respond(state, RULES, **kw)
        case Transition.escalate:
            return lifecycle.escalate(state, RULES, **kw)
        case Transition.refer_to_cafcass:
            return lifecycle.refer_to_cafcass(state, RULES, **kw)
        case Transition.resolve:
            return lifecycle.resolve(state, RULES, outcomes=[Outcome.other], **kw)
        case Transition.withdraw:
            return lifecycle.withdraw(state, RULES, **kw)
        case Transition.reopen:
            return lifecycle.reopen(state, RULES, **kw)
    raise AssertionError(transition)


OPEN = {"respond", "escalate", "refer_to_cafcass", "resolve", "withdraw"}
ALLOWED = {
    "open at stage 1": OPEN,
    "open at stage 2": OPEN,
    "open at stage 3": OPEN,
    "open at stage 4": OPEN - {"escalate"},  # the last stage inside the authority
    "resolved": {"reopen"},
    "withdrawn": {"reopen"},
    "referred to Cafcass": set(),
}
CASES = [
    (name, transition)
    for name in STATES
    for transition in Transition
    if transition is not Transition.raise_dispute
]


@pytest.mark.parametrize(("state_name", "transition"), CASES)
def test_every_transition_from_every_state_is_allowed_or_refused(
    state_name: str, transition: Transition
) -> None:
    state = STATES[state_name]()
    allowed = ALLOWED[state_name]
    assert {t.value for t in lifecycle.allowed_transitions(state, RULES, ON)} == allowed

    if transition.value in allowed:
        after = take(transition, state)
        assert after.last_action_on == ON
        return
    with pytest.raises(TransitionRefused) as refused:
        take(transition, state)
    assert refused.value.state == state
    assert {t.value for t in refused.value.allowed} == allowed
    assert refused.value.slug == (
        "transition-not-allowed" if state.status is Status.open else "dispute-closed"
    )


def test_a_refusal_names_the_state_in_words() -> None:
    with pytest.raises(TransitionRefused) as refused:
        take(Transition.escalate, resolved())
    assert (
        refused.value.reason == "The dispute was resolved on 2017-04-19, so it cannot be escalated."
    )
    with pytest.raises(TransitionRefused) as refused:
        take(Transition.escalate, opened(4))
    assert "stage 4, the last stage inside the authority" in refused.value.reason


def test_raised_at_stage_1_with_deadlines() -> None:
    state = opened()
    assert (state.stage, state.status, state.highest_stage) == (1, Status.open, 1)
    assert (state.stage_entered_on, state.last_action_on, state.closed_on) == (RAISED, RAISED, None)
    assert state.stage_due_by == date(2017, 4, 24)  # 5 WD, across Good Friday and Easter Monday
    assert state.overall_due_by == date(2017, 5, 16)  # 20 WD, also across 1 May


def test_a_response_changes_neither_the_stage_nor_its_deadline() -> None:
    before = opened()
    after = lifecycle.respond(before, RULES, on=LATER, today=TODAY)
    assert (after.stage, after.stage_due_by, after.stage_entered_on) == (
        1,
        before.stage_due_by,
        RAISED,
    )
    assert after.last_action_on == LATER


def test_escalate_to_the_next_stage_restarts_the_stage_deadline() -> None:
    after = lifecycle.escalate(opened(), RULES, on=LATER, today=TODAY)
    assert (after.stage, after.highest_stage, after.stage_entered_on) == (2, 2, LATER)
    assert after.stage_due_by == date(2017, 4, 26)
    assert after.overall_due_by == date(2017, 5, 16)  # still from the day it was raised


@pytest.mark.parametrize("stage", [2, 3, 4])
def test_raising_above_stage_1_bypasses_earlier_stages(stage: int) -> None:
    state = opened(stage)
    assert (state.stage, state.highest_stage, state.stage_due_by) == (
        stage,
        stage,
        date(2017, 4, 24),
    )


def test_escalation_may_skip_stages() -> None:
    after = lifecycle.escalate(opened(1), RULES, on=LATER, today=TODAY, to_stage=4)
    assert (after.stage, after.highest_stage) == (4, 4)


@pytest.mark.parametrize(("current", "to_stage"), [(2, 2), (3, 1), (1, 5), (2, 6)])
def test_escalation_only_to_a_higher_stage_inside_the_authority(
    current: int, to_stage: int
) -> None:
    with pytest.raises(InvalidInput) as bad:
        lifecycle.escalate(opened(current), RULES, on=LATER, today=TODAY, to_stage=to_stage)
    assert bad.value.field == "to_stage"


@pytest.mark.parametrize("stage", [0, 5, 6])
def test_a_dispute_is_raised_inside_the_authority(stage: int) -> None:
    with pytest.raises(InvalidInput) as bad:
        lifecycle.raise_dispute(RULES, raised_on=RAISED, today=TODAY, stage=stage)
    assert bad.value.field == "stage"
    assert "refer-to-cafcass" in bad.value.message


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_referral_to_cafcass_from_every_stage(stage: int) -> None:
    after = lifecycle.refer_to_cafcass(opened(stage), RULES, on=LATER, today=TODAY)
    assert (after.stage, after.highest_stage, after.status) == (5, 5, Status.referred_to_cafcass)
    assert (after.stage_entered_on, after.closed_on) == (LATER, LATER)
    assert after.stage_due_by is None  # outside the authority: no internal deadline


def test_resolution_keeps_the_stage_and_records_each_outcome_once() -> None:
    outcomes = [Outcome.contact_changed, Outcome.placement_changed, Outcome.contact_changed]
    after = lifecycle.resolve(opened(3), RULES, outcomes=outcomes, on=LATER, today=TODAY)
    assert (after.status, after.stage, after.closed_on) == (Status.resolved, 3, LATER)
    assert after.outcomes == (Outcome.contact_changed, Outcome.placement_changed)


def test_resolving_without_an_outcome_is_refused_as_a_transition() -> None:
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.resolve(opened(), RULES, outcomes=[], on=LATER, today=TODAY)
    assert refused.value.slug == "outcome-required"
    assert refused.value.state.status is Status.open
    assert Transition.resolve in refused.value.allowed


def test_withdrawal_closes_the_dispute_at_its_stage() -> None:
    after = lifecycle.withdraw(opened(2), RULES, on=LATER, today=TODAY)
    assert (after.status, after.stage, after.closed_on, after.outcomes) == (
        Status.withdrawn,
        2,
        LATER,
        (),
    )


@pytest.mark.parametrize("transition", [t for t in Transition if t is not Transition.raise_dispute])
def test_an_action_in_the_future_is_refused(transition: Transition) -> None:
    state = resolved() if transition is Transition.reopen else opened()
    with pytest.raises(InvalidInput) as bad:
        take(transition, state, on=date(2017, 7, 1))
    assert (bad.value.field, bad.value.message) == (
        "date",
        "is in the future (today is 2017-06-30)",
    )


@pytest.mark.parametrize("transition", [t for t in Transition if t is not Transition.raise_dispute])
def test_an_action_before_the_previous_one_is_refused(transition: Transition) -> None:
    state = (
        resolved()
        if transition is Transition.reopen
        else lifecycle.respond(opened(), RULES, on=LATER, today=TODAY)
    )
    with pytest.raises(InvalidInput) as bad:
        take(transition, state, on=date(2017, 4, 18))
    assert bad.value.field == "date"
    assert bad.value.message == "is before the dispute's previous action, on 2017-04-19"


def test_several_actions_may_happen_on_the_same_day() -> None:
    state = lifecycle.escalate(opened(), RULES, on=RAISED, today=TODAY)
    state = lifecycle.refer_to_cafcass(state, RULES, on=RAISED, today=TODAY)
    assert (state.status, state.last_action_on) == (Status.referred_to_cafcass, RAISED)


def test_a_dispute_cannot_be_raised_in_the_future() -> None:
    with pytest.raises(InvalidInput) as bad:
        lifecycle.raise_dispute(RULES, raised_on=date(2017, 7, 1), today=TODAY)
    assert bad.value.field == "date"
    assert lifecycle.raise_dispute(RULES, raised_on=TODAY, today=TODAY).raised_on == TODAY
