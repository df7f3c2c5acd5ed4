"""Stage and overall deadlines in England's working days, the reopen window, other processes.

Counted by hand: "N working days after D" is the N-th working day strictly after D, and
weekends, Good Friday, Easter Monday, the May bank holidays, Christmas Day, Boxing Day and
New Year's Day are not working days.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drp_api.disputes import lifecycle
from drp_api.disputes.lifecycle import (
    DisputeState,
    Outcome,
    Status,
    Transition,
    TransitionRefused,
    stage_overdue,
)
from drp_api.settings import Settings, StageSetting
from iro_kit.calendar import WorkingDayCalendar

RULES = Settings(environment="development").process_rules(WorkingDayCalendar())
TODAY = date(2030, 1, 1)


def raised(on: date, stage: int = 1) -> DisputeState:
    return lifecycle.raise_dispute(RULES, raised_on=on, today=TODAY, stage=stage)


@pytest.mark.parametrize(
    ("raised_on", "stage_due_by", "overall_due_by"),
    [
        # Thursday before Easter 2017: Good Friday 14 and Easter Monday 17 April, then 1 May.
        (date(2017, 4, 13), date(2017, 4, 24), date(2017, 5, 16)),
        # Monday 3 April 2017: 20 working days is DOMAIN.md's example, 4 May.
        (date(2017, 4, 3), date(2017, 4, 10), date(2017, 5, 4)),
        # Thursday 21 December 2017: 22, 27, 28, 29 December and 2 January (Christmas Day,
        # Boxing Day and New Year's Day are not working days).
        (date(2017, 12, 21), date(2018, 1, 2), date(2018, 1, 23)),
        # Friday 22 December 2017: 27, 28, 29 December, 2 and 3 January.
        (date(2017, 12, 22), date(2018, 1, 3), date(2018, 1, 24)),
        # Raised on a Saturday: the first working day after it is Monday.
        (date(2017, 4, 22), date(2017, 4, 28), date(2017, 5, 22)),
        # The one-off bank holiday for the coronation, Monday 8 May 2023, then the spring
        # bank holiday on 29 May.
        (date(2023, 5, 5), date(2023, 5, 15), date(2023, 6, 6)),
    ],
)
def test_deadlines_count_working_days_across_bank_holidays(
    raised_on: date, stage_due_by: date, overall_due_by: date
) -> None:
    state = raised(raised_on)
    assert (state.stage_due_by, state.overall_due_by) == (stage_due_by, overall_due_by)


def test_an_escalation_over_christmas_gets_its_deadline_in_the_new_year() -> None:
    state = lifecycle.escalate(
        raised(date(2017, 12, 18)), RULES, on=date(2017, 12, 22), today=TODAY
    )
    assert state.stage_due_by == date(2018, 1, 3)  # 27, 28, 29 December, 2 and 3 January
    assert state.overall_due_by == date(2018, 1, 18)  # from Monday 18 December


def test_extra_closure_days_from_settings_push_deadlines() -> None:
    closed = Settings(environment="development", extra_closure_days=[date(2017, 4, 18)])
    rules = closed.process_rules(WorkingDayCalendar(closed.extra_closure_days))
    state = lifecycle.raise_dispute(rules, raised_on=date(2017, 4, 13), today=TODAY)
    assert state.stage_due_by == date(2017, 4, 25)


def test_stage_names_and_deadlines_are_configurable() -> None:
    custom = Settings(
        environment="development",
        stages=[
            StageSetting(name="Team manager", working_days=10),
            StageSetting(name="Head of service", working_days=3),
            StageSetting(name="Cafcass"),
        ],
        overall_working_days=15,
    )
    rules = custom.process_rules(WorkingDayCalendar())
    state = lifecycle.raise_dispute(rules, raised_on=date(2017, 4, 13), today=TODAY)
    # 10 WD: 18-21 and 24-28 April, 2 May; 15 WD: then 3, 4, 5, 8 and 9 May.
    assert (state.stage_due_by, state.overall_due_by) == (date(2017, 5, 2), date(2017, 5, 9))
    state = lifecycle.escalate(state, rules, on=date(2017, 4, 18), today=TODAY)
    assert (state.stage, rules.stage(2).name, state.stage_due_by) == (
        2,
        "Head of service",
        date(2017, 4, 21),
    )
    assert Transition.escalate not in lifecycle.allowed_transitions(state, rules)
    referred = lifecycle.refer_to_cafcass(state, rules, on=date(2017, 4, 18), today=TODAY)
    assert (referred.stage, referred.stage_due_by) == (3, None)


def test_a_stage_is_overdue_from_the_day_after_its_due_date() -> None:
    due = date(2017, 4, 24)
    assert not stage_overdue(due, due)
    assert stage_overdue(due, due + timedelta(days=1))
    assert not stage_overdue(None, date(2030, 1, 1))  # Cafcass: no deadline


# --- the reopen window: 20 working days after closing ---------------------------------------

RESOLVED_ON = date(2017, 12, 20)
# 21, 22, 27, 28, 29 Dec, 2-5 Jan (9), 8-12 (14), 15-19 (19), 22 Jan is the 20th working day.
LAST_DAY_TO_REOPEN = date(2018, 1, 22)


def resolved_before_christmas() -> DisputeState:
    state = lifecycle.escalate(
        raised(date(2017, 12, 11)), RULES, on=date(2017, 12, 13), today=TODAY
    )
    return lifecycle.resolve(
        state, RULES, outcomes=[Outcome.contact_changed], on=RESOLVED_ON, today=TODAY
    )


def test_reopened_on_the_last_day_of_the_window_at_the_stage_it_closed_at() -> None:
    state = resolved_before_christmas()
    after = lifecycle.reopen(state, RULES, on=LAST_DAY_TO_REOPEN, today=TODAY)
    assert (after.status, after.stage, after.closed_on, after.outcomes) == (
        Status.open,
        2,
        None,
        (),
    )
    assert (after.stage_entered_on, after.stage_due_by) == (LAST_DAY_TO_REOPEN, date(2018, 1, 29))
    assert after.overall_due_by == state.overall_due_by  # still from the day it was raised


def test_reopening_after_the_window_is_refused() -> None:
    state = resolved_before_christmas()
    with pytest.raises(TransitionRefused) as refused:
        lifecycle.reopen(state, RULES, on=LAST_DAY_TO_REOPEN + timedelta(days=1), today=TODAY)
    assert refused.value.slug == "reopen-window-closed"
    assert refused.value.allowed == []
    assert "until 2018-01-22 (20 working days)" in refused.value.reason


def test_allowed_transitions_on_a_day_know_the_reopen_window() -> None:
    state = resolved_before_christmas()
    assert lifecycle.allowed_transitions(state, RULES, LAST_DAY_TO_REOPEN) == [Transition.reopen]
    assert lifecycle.allowed_transitions(state, RULES, date(2018, 1, 23)) == []


def test_a_withdrawn_dispute_reopens_too_but_a_referral_to_cafcass_does_not() -> None:
    withdrawn = lifecycle.withdraw(
        raised(date(2017, 4, 3)), RULES, on=date(2017, 4, 5), today=TODAY
    )
    assert (
        lifecycle.reopen(withdrawn, RULES, on=date(2017, 4, 6), today=TODAY).status is Status.open
    )
    referred = lifecycle.refer_to_cafcass(
        raised(date(2017, 4, 3)), RULES, on=date(2017, 4, 5), today=TODAY
    )
    with pytest.raises(TransitionRefused):
        lifecycle.reopen(referred, RULES, on=date(2017, 4, 6), today=TODAY)


def test_a_zero_day_window_allows_reopening_on_the_closing_day_only() -> None:
    rules = Settings(environment="development", reopen_window_working_days=0).process_rules(
        WorkingDayCalendar()
    )
    state = lifecycle.withdraw(
        lifecycle.raise_dispute(rules, raised_on=date(2017, 4, 3), today=TODAY),
        rules,
        on=date(2017, 4, 5),
        today=TODAY,
    )
    assert lifecycle.reopen(state, rules, on=date(2017, 4, 5), today=TODAY).status is Status.open
    with pytest.raises(TransitionRefused):
        lifecycle.reopen(state, rules, on=date(2017, 4, 6), today=TODAY)


# --- any walk through the process keeps its invariants ---------------------------------------

walks = st.lists(
    st.tuples(
        st.sampled_from([t for t in Transition if t is not Transition.raise_dispute]),
        st.integers(min_value=0, max_value=15),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(first_stage=st.integers(1, 4), walk=walks)
def test_any_walk_keeps_the_process_consistent(first_stage: int, walk: list) -> None:
    state, on = raised(date(2017, 3, 1), first_stage), date(2017, 3, 1)
    for transition, days_later in walk:
        on = on + timedelta(days=days_later)
        allowed = lifecycle.allowed_transitions(state, RULES, on)
        try:
            after = _take(transition, state, on)
        except TransitionRefused:
            assert transition not in allowed or transition is Transition.reopen
            continue
        assert transition in allowed
        assert after.last_action_on == on >= state.last_action_on
        assert state.highest_stage <= after.highest_stage
        state = after
        assert 1 <= state.stage <= state.highest_stage <= RULES.cafcass_stage
        assert (state.status is Status.open) == (state.closed_on is None)
        assert (state.status is Status.referred_to_cafcass) == (state.stage == RULES.cafcass_stage)
        assert bool(state.outcomes) == (state.status is Status.resolved)
        if state.stage_due_by is not None:
            assert state.stage_due_by > state.stage_entered_on
        assert state.overall_due_by == RULES.overall_due_by(state.raised_on)


def _take(transition: Transition, state: DisputeState, on: date) -> DisputeState:
    kw = {"on": on, "today": TODAY}
    if transition is Transition.resolve:
        return lifecycle.resolve(state, RULES, outcomes=[Outcome.other], **kw)
    step = {
        Transition.respond: lifecycle.respond,
        Transition.escalate: lifecycle.escalate,
        Transition.refer_to_cafcass: lifecycle.refer_to_cafcass,
        Transition.withdraw: lifecycle.withdraw,
        Transition.reopen: lifecycle.reopen,
    }[transition]
    return step(state, RULES, **kw)
