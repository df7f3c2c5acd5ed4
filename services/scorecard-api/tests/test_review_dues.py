"""`review_dues`: the chain of review due dates in each period of care (DOMAIN.md, reg 33/48)."""

from datetime import date, timedelta

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import EpisodeFacts, MonthRule, ReviewFacts, ScheduleRules
from scorecard_api.projections.dues import Due, review_dues

CAL = WorkingDayCalendar()
RULES = ScheduleRules(calendar=CAL)
START = date(2017, 4, 3)  # a Monday, before Easter 2017
FIRST_DUE = date(2017, 5, 4)


def test_first_review_is_due_20_working_days_after_the_period_start():
    assert CAL.add_working_days(START, 20) == FIRST_DUE
    dues = review_dues([EpisodeFacts(START, None, "C2")], [], RULES)
    assert dues == [Due(START, 0, "first", START, FIRST_DUE, None, None, "C2")]


def test_second_is_due_91_days_after_the_first_held_and_then_183_days():
    first, second, third = date(2017, 5, 2), date(2017, 7, 25), date(2018, 1, 10)
    reviews = [ReviewFacts(first, key="r1"), ReviewFacts(second, key="r2"), ReviewFacts(third)]
    dues = review_dues([EpisodeFacts(START, None, "C2")], reviews, RULES)
    assert [
        (d.ordinal, d.sequence, d.anchor_on, d.due_by, d.held_on, d.review_id) for d in dues
    ] == [
        (0, "first", START, FIRST_DUE, first, "r1"),
        (1, "second", first, first + timedelta(days=91), second, "r2"),
        (2, "subsequent", second, second + timedelta(days=183), third, None),
        (3, "subsequent", third, third + timedelta(days=183), None, None),
    ]
    assert dues[1].due_by == date(2017, 8, 1)
    assert dues[2].due_by == date(2018, 1, 24)


def test_a_late_review_is_held_against_its_due_date_and_restarts_the_clock():
    late = date(2017, 5, 10)
    dues = review_dues([EpisodeFacts(START, None, "C2")], [ReviewFacts(late)], RULES)
    assert [(d.due_by, d.held_on) for d in dues] == [
        (FIRST_DUE, late),
        (late + timedelta(days=91), None),
    ]


def test_the_trailing_unheld_due_follows_the_last_review():
    held = date(2017, 5, 2)
    dues = review_dues([EpisodeFacts(START, None, "C2")], [ReviewFacts(held)], RULES)
    trailing = dues[-1]
    # Midway: 91 days from 2017-05-02 to 2017-08-01, halved and rounded down: 45 days on.
    midway = date(2017, 6, 16)
    assert trailing == Due(
        START, 1, "second", held, date(2017, 8, 1), None, None, "C2", None, midway
    )


def test_a_held_review_carries_the_last_day_a_pre_review_visit_counts():
    # Held Tuesday 2017-05-02: 5 working days before it, skipping the 1 May bank holiday.
    held = date(2017, 5, 2)
    dues = review_dues([EpisodeFacts(START, None, "C2")], [ReviewFacts(held)], RULES)
    assert (dues[0].visit_by, dues[0].midpoint_on) == (date(2017, 4, 24), None)


def test_no_trailing_due_when_the_period_ended_before_it_would_fall_due():
    held = date(2017, 5, 2)
    episodes = [EpisodeFacts(START, date(2017, 6, 30), "C2")]
    dues = review_dues(episodes, [ReviewFacts(held)], RULES)
    assert [(d.due_by, d.held_on) for d in dues] == [(FIRST_DUE, held)]


def test_no_first_review_due_when_the_period_ended_before_it():
    dues = review_dues([EpisodeFacts(START, date(2017, 4, 20), "V2")], [], RULES)
    assert dues == []


def test_a_child_who_re_entered_care_gets_a_fresh_first_review_in_the_new_period():
    held = date(2017, 5, 2)
    second_start = date(2017, 9, 4)
    episodes = [
        EpisodeFacts(START, date(2017, 6, 30), "C2", "S"),
        EpisodeFacts(second_start, None, "V2", "S"),
    ]
    dues = review_dues(episodes, [ReviewFacts(held, key="old")], RULES)
    second_first_due = CAL.add_working_days(second_start, 20)
    assert second_first_due == date(2017, 10, 2)
    assert dues == [
        Due(START, 0, "first", START, FIRST_DUE, held, "old", "C2", date(2017, 4, 24)),
        Due(second_start, 0, "first", second_start, second_first_due, None, None, "V2"),
    ]


def test_a_review_in_the_new_period_is_its_first_not_a_second():
    second_start = date(2017, 9, 4)
    episodes = [
        EpisodeFacts(START, date(2017, 6, 30), "C2", "S"),
        EpisodeFacts(second_start, None, "C2", "S"),
    ]
    reviews = [ReviewFacts(date(2017, 5, 2)), ReviewFacts(date(2017, 9, 20))]
    dues = review_dues(episodes, reviews, RULES)
    new = [d for d in dues if d.period_start_on == second_start]
    assert [(d.sequence, d.due_by, d.held_on) for d in new] == [
        ("first", date(2017, 10, 2), date(2017, 9, 20)),
        ("second", date(2017, 9, 20) + timedelta(days=91), None),
    ]


def test_status_on_due_is_the_legal_status_on_that_date():
    changed = date(2017, 4, 20)
    episodes = [EpisodeFacts(START, changed, "C1", "S"), EpisodeFacts(changed, None, "C2", "P")]
    dues = review_dues(episodes, [], RULES)
    assert [(d.period_start_on, d.due_by, d.status_on_due) for d in dues] == [
        (START, FIRST_DUE, "C2")
    ]


def test_status_on_due_is_none_when_the_period_had_ended_by_the_due_date():
    held = date(2017, 4, 20)
    episodes = [EpisodeFacts(START, date(2017, 5, 3), "C2")]  # not looked after on 2017-05-04
    dues = review_dues(episodes, [ReviewFacts(held)], RULES)
    assert [(d.due_by, d.held_on, d.status_on_due) for d in dues] == [(FIRST_DUE, held, None)]


def test_a_short_break_only_period_uses_reg_48_first_due_in_3_months():
    dues = review_dues([EpisodeFacts(START, None, "V3")], [], RULES)
    assert dues == [Due(START, 0, "first", START, START + timedelta(days=91), None, None, "V3")]
    assert dues[0].due_by == date(2017, 7, 3)


def test_reg_48_reviews_after_the_first_are_6_months_apart():
    held = date(2017, 6, 1)
    dues = review_dues([EpisodeFacts(START, None, "V4")], [ReviewFacts(held)], RULES)
    assert [(d.sequence, d.due_by) for d in dues] == [
        ("first", date(2017, 7, 3)),
        ("subsequent", held + timedelta(days=183)),
    ]


def test_calendar_month_rule_counts_calendar_months():
    rules = ScheduleRules(calendar=CAL, month_rule=MonthRule.calendar)
    first, second = date(2017, 5, 2), date(2017, 5, 31)
    dues = review_dues(
        [EpisodeFacts(START, None, "C2")], [ReviewFacts(first), ReviewFacts(second)], rules
    )
    assert [d.due_by for d in dues] == [FIRST_DUE, date(2017, 8, 2), date(2017, 11, 30)]


def test_no_episodes_no_dues():
    assert review_dues([], [ReviewFacts(date(2017, 5, 2))], RULES) == []
