"""When each review falls due (reg 33): first, second, subsequent; early, late and series.

Every expected date below was counted by hand against England's bank holidays (the comments
show the count), not copied from the code.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import (
    EpisodeFacts,
    MonthRule,
    ReviewFacts,
    ReviewSequence,
    Schedule,
    ScheduleRules,
    add_months,
    compute_schedule,
)

CALENDAR = WorkingDayCalendar()
DAYS = ScheduleRules(CALENDAR)
CALENDAR_MONTHS = ScheduleRules(CALENDAR, month_rule=MonthRule.calendar)


def schedule(
    looked_after_on: date,
    held: list[date],
    as_at: date,
    rules: ScheduleRules = DAYS,
    reviews: list[ReviewFacts] | None = None,
) -> Schedule:
    episodes = [EpisodeFacts(looked_after_on, None, "C2", "S")]
    return compute_schedule(episodes, reviews or [ReviewFacts(d) for d in held], rules, as_at)


def next_due(looked_after_on: date, held: list[date], rules: ScheduleRules = DAYS) -> date:
    as_at = held[-1] if held else looked_after_on
    next_review = schedule(looked_after_on, held, as_at, rules).next_review
    assert next_review is not None
    return next_review.due_by.value


# First review: 20 working days ---------------------------------------------------------------


def test_first_review_due_20_working_days_after_becoming_looked_after_across_easter_2017() -> None:
    # From Mon 3 Apr 2017: 4-7 (4), 10-13 (8), Good Friday 14 and Easter Monday 17 skipped,
    # 18-21 (12), 24-28 (17), 1 May skipped, 2, 3, 4 May (20).
    next_review = schedule(date(2017, 4, 3), [], date(2017, 4, 3)).next_review
    assert next_review is not None
    assert next_review.sequence is ReviewSequence.first
    assert next_review.due_by.value == date(2017, 5, 4)


def test_first_review_over_christmas_skips_substitute_bank_holidays() -> None:
    # From Mon 19 Dec 2016: 20-23 (4); 26 Boxing Day and 27 (Christmas Day, a Sunday,
    # substituted) skipped; 28-30 (7); 2 Jan (New Year's Day substituted) skipped;
    # 3-6 (11), 9-13 (16), 16-19 (20).
    assert next_due(date(2016, 12, 19), []) == date(2017, 1, 19)


def test_first_review_held_on_its_due_date_is_in_timescale() -> None:
    reviews = schedule(date(2017, 4, 3), [date(2017, 5, 4)], date(2017, 5, 4)).reviews
    assert [(r.sequence, r.due_by.value, r.in_timescale) for r in reviews] == [
        (ReviewSequence.first, date(2017, 5, 4), True)
    ]


# Second and subsequent reviews: 91 / 183 days -------------------------------------------------


def test_second_review_due_91_days_after_first() -> None:
    # 4 May 2017 + 91 days: 27 left in May, 30 in June, 31 in July, 3 in August.
    next_review = schedule(date(2017, 4, 3), [date(2017, 5, 4)], date(2017, 5, 4)).next_review
    assert next_review is not None
    assert next_review.sequence is ReviewSequence.second
    assert next_review.due_by.value == date(2017, 8, 3)


def test_subsequent_review_due_183_days_after_previous() -> None:
    # 3 Aug 2017 + 183 days: 28 left in Aug, 30, 31, 30, 31, 31 (181 to 31 Jan), then 2 Feb.
    held = [date(2017, 5, 4), date(2017, 8, 3)]
    next_review = schedule(date(2017, 4, 3), held, held[-1]).next_review
    assert next_review is not None
    assert next_review.sequence is ReviewSequence.subsequent
    assert next_review.due_by.value == date(2018, 2, 2)


def test_every_review_after_the_second_is_subsequent_at_183_days() -> None:
    held = [date(2017, 5, 4), date(2017, 8, 3), date(2018, 2, 1), date(2018, 8, 1)]
    reviews = schedule(date(2017, 4, 3), held, date(2018, 8, 1)).reviews
    assert [r.sequence for r in reviews] == [
        ReviewSequence.first,
        ReviewSequence.second,
        ReviewSequence.subsequent,
        ReviewSequence.subsequent,
    ]
    assert reviews[3].due_by.value == date(2018, 8, 3)  # 1 Feb 2018 + 183 days
    assert all(r.in_timescale for r in reviews)


@pytest.mark.parametrize(
    ("first_held", "second_due"),
    [
        (date(2023, 11, 30), date(2024, 2, 29)),  # 30 Nov -> 29 Feb in a leap year
        (date(2022, 11, 30), date(2023, 2, 28)),  # 30 Nov -> 28 Feb otherwise
        (date(2021, 8, 31), date(2021, 11, 30)),  # 31 Aug -> 30 Nov
        (date(2017, 5, 4), date(2017, 8, 4)),  # an ordinary day keeps its number
    ],
)
def test_second_review_due_3_calendar_months_after_first_under_calendar_rule(
    first_held: date, second_due: date
) -> None:
    looked_after_on = first_held - timedelta(days=14)
    assert next_due(looked_after_on, [first_held], CALENDAR_MONTHS) == second_due


@pytest.mark.parametrize(
    ("previous_held", "next_due_on"),
    [
        (date(2017, 8, 4), date(2018, 2, 4)),
        (date(2021, 8, 31), date(2022, 2, 28)),  # 31 Aug -> 28 Feb
        (date(2023, 8, 31), date(2024, 2, 29)),  # 31 Aug -> 29 Feb in a leap year
        (date(2019, 3, 31), date(2019, 9, 30)),  # 31 Mar -> 30 Sep
    ],
)
def test_subsequent_review_due_6_calendar_months_after_previous_under_calendar_rule(
    previous_held: date, next_due_on: date
) -> None:
    first_held = previous_held - timedelta(days=80)
    looked_after_on = first_held - timedelta(days=14)
    held = [first_held, previous_held]
    assert next_due(looked_after_on, held, CALENDAR_MONTHS) == next_due_on


def test_add_months_counts_91_and_183_days_under_the_days_rule() -> None:
    assert add_months(date(2023, 11, 30), 3, MonthRule.days) == date(2024, 2, 29)
    assert add_months(date(2022, 11, 30), 3, MonthRule.days) == date(2023, 3, 1)
    assert add_months(date(2017, 8, 3), 6, MonthRule.days) == date(2018, 2, 2)


def test_add_months_gives_the_last_day_of_a_shorter_month_under_the_calendar_rule() -> None:
    assert add_months(date(2024, 1, 31), 1, MonthRule.calendar) == date(2024, 2, 29)
    assert add_months(date(2023, 12, 31), 3, MonthRule.calendar) == date(2024, 3, 31)
    assert add_months(date(2023, 10, 31), 6, MonthRule.calendar) == date(2024, 4, 30)


# The clock runs from the date actually held ---------------------------------------------------


def test_early_second_review_restarts_the_clock_from_its_held_date() -> None:
    # Second due 3 Aug 2017, held early on 1 Jun: third due 1 Jun + 183 days = 1 Dec 2017.
    held = [date(2017, 5, 4), date(2017, 6, 1)]
    result = schedule(date(2017, 4, 3), held, date(2017, 6, 1))
    assert result.reviews[1].in_timescale
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 12, 1)


def test_early_first_review_brings_the_second_forward() -> None:
    # First held on 20 Apr 2017 (due 4 May): second due 20 Apr + 91 days = 20 Jul.
    assert next_due(date(2017, 4, 3), [date(2017, 4, 20)]) == date(2017, 7, 20)


def test_late_first_review_restarts_the_clock_from_its_held_date() -> None:
    # First due 4 May 2017, held 10 May: late; second due 10 May + 91 days = 9 Aug.
    result = schedule(date(2017, 4, 3), [date(2017, 5, 10)], date(2017, 5, 10))
    [first] = result.reviews
    assert not first.in_timescale
    assert first.days_late == 6
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 8, 9)


def test_late_second_review_is_out_of_timescale_and_the_next_counts_from_when_it_was_held() -> None:
    # Second due 3 Aug 2017, held 10 Aug: third due 10 Aug + 183 days = 9 Feb 2018.
    held = [date(2017, 5, 4), date(2017, 8, 10)]
    result = schedule(date(2017, 4, 3), held, date(2017, 8, 10))
    second = result.reviews[1]
    assert (second.due_by.value, second.in_timescale, second.days_late) == (
        date(2017, 8, 3),
        False,
        7,
    )
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2018, 2, 9)


def test_reviews_are_assessed_in_held_order_whatever_order_they_arrive_in() -> None:
    reviews = [ReviewFacts(date(2017, 8, 3), key="b"), ReviewFacts(date(2017, 5, 4), key="a")]
    result = schedule(date(2017, 4, 3), [], date(2017, 9, 1), reviews=reviews)
    assert [(r.review.key, r.sequence) for r in result.reviews] == [
        ("a", ReviewSequence.first),
        ("b", ReviewSequence.second),
    ]


# A review held over a series of meetings ------------------------------------------------------


def _second_review(series_started_on: date, concluded_on: date):
    reviews = [ReviewFacts(date(2017, 5, 4)), ReviewFacts(concluded_on, series_started_on)]
    return schedule(date(2017, 4, 3), [], concluded_on, reviews=reviews).reviews[1]


def test_series_started_in_time_but_concluded_late_is_late_because_of_the_series() -> None:
    second = _second_review(date(2017, 8, 1), date(2017, 8, 10))  # due 3 Aug
    assert not second.in_timescale
    assert second.late_because_of_series
    assert second.days_late == 7


def test_series_started_after_the_due_date_is_late_but_not_because_of_the_series() -> None:
    second = _second_review(date(2017, 8, 4), date(2017, 8, 10))
    assert not second.in_timescale
    assert not second.late_because_of_series


def test_series_concluded_by_the_due_date_is_in_timescale() -> None:
    second = _second_review(date(2017, 7, 25), date(2017, 8, 3))
    assert second.in_timescale
    assert not second.late_because_of_series


def test_series_dates_the_review_by_its_concluding_meeting() -> None:
    # The next review counts from the concluding meeting (10 Aug), not the first (1 Aug).
    reviews = [ReviewFacts(date(2017, 5, 4)), ReviewFacts(date(2017, 8, 10), date(2017, 8, 1))]
    result = schedule(date(2017, 4, 3), [], date(2017, 8, 10), reviews=reviews)
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2018, 2, 9)


# Explanations ---------------------------------------------------------------------------------


def test_first_review_explanation_names_the_date_the_child_became_looked_after() -> None:
    next_review = schedule(date(2017, 4, 3), [], date(2017, 4, 3)).next_review
    assert next_review is not None
    text = next_review.due_by.explanation
    assert "2017-04-03" in text
    assert "20 working days" in text


def test_second_review_explanation_names_the_first_review_and_the_month_rule() -> None:
    next_review = schedule(date(2017, 4, 3), [date(2017, 5, 4)], date(2017, 5, 4)).next_review
    assert next_review is not None
    assert next_review.due_by.counted_from == date(2017, 5, 4)
    assert "2017-05-04" in next_review.due_by.explanation
    assert "91 days" in next_review.due_by.explanation


def test_calendar_rule_explanation_says_calendar_months() -> None:
    held = [date(2017, 5, 4)]
    next_review = schedule(date(2017, 4, 3), held, held[0], CALENDAR_MONTHS).next_review
    assert next_review is not None
    assert "calendar months" in next_review.due_by.explanation


def test_the_month_rule_of_one_rule_set_never_leaks_into_another() -> None:
    # The same first review under both rules, alternately: 31 May 2021 + 91 days is 30 Aug
    # (30 in June, 31 in July, 30 in August); + 3 calendar months is 31 Aug.
    for _ in range(2):
        assert next_due(date(2021, 5, 17), [date(2021, 5, 31)], DAYS) == date(2021, 8, 30)
        assert next_due(date(2021, 5, 17), [date(2021, 5, 31)], CALENDAR_MONTHS) == date(
            2021, 8, 31
        )
