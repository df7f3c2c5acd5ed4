"""Periods of care: when the clock stops, restarts, and what was known on a past day.

Also the reg 48 clock for an agreed series of short breaks (V3/V4).
"""

from __future__ import annotations

from datetime import date

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import (
    Clock,
    EpisodeFacts,
    MonthRule,
    ReviewFacts,
    ReviewSequence,
    ScheduleRules,
    ScheduleStatus,
    compute_schedule,
    periods_of_care,
)

CALENDAR = WorkingDayCalendar()
RULES = ScheduleRules(CALENDAR)


def held(*days: date) -> list[ReviewFacts]:
    return [ReviewFacts(day) for day in days]


# A period of care ends ------------------------------------------------------------------------


def test_period_ending_before_the_first_review_is_due_leaves_no_review_due() -> None:
    # Looked after 3 Apr 2017 (first review due 4 May), home on 20 Apr.
    episodes = [EpisodeFacts(date(2017, 4, 3), date(2017, 4, 20), "V2", "S")]
    result = compute_schedule(episodes, [], RULES, date(2017, 5, 10))
    assert result.status is ScheduleStatus.ended
    assert result.next_review is None
    assert result.period is not None
    assert result.period.end == date(2017, 4, 20)


def test_child_is_still_looked_after_the_day_before_the_period_ends() -> None:
    episodes = [EpisodeFacts(date(2017, 4, 3), date(2017, 4, 20), "V2", "S")]
    result = compute_schedule(episodes, [], RULES, date(2017, 4, 19))
    assert result.status is not ScheduleStatus.ended
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 5, 4)


def test_ended_period_keeps_its_reviews_assessed() -> None:
    episodes = [EpisodeFacts(date(2017, 4, 3), date(2017, 6, 30), "C1", "S")]
    result = compute_schedule(episodes, held(date(2017, 5, 4)), RULES, date(2017, 9, 1))
    assert result.status is ScheduleStatus.ended
    assert [(r.sequence, r.in_timescale) for r in result.reviews] == [(ReviewSequence.first, True)]


# Leaving care and returning -------------------------------------------------------------------

LEFT_AND_RETURNED = [
    EpisodeFacts(date(2017, 4, 3), date(2017, 6, 30), "C1", "S"),
    EpisodeFacts(date(2017, 9, 4), None, "V2", "S"),
]


def test_child_who_returns_to_care_is_due_a_first_review_20_working_days_after_returning() -> None:
    # From Mon 4 Sep 2017 (no bank holiday until Christmas): 5-8 (4), 11-15 (9), 18-22 (14),
    # 25-29 (19), Mon 2 Oct (20).
    result = compute_schedule(LEFT_AND_RETURNED, held(date(2017, 5, 4)), RULES, date(2017, 9, 10))
    assert result.period is not None
    assert result.period.start == date(2017, 9, 4)
    assert result.reviews == ()  # the review of the earlier period does not count
    assert result.next_review is not None
    assert result.next_review.sequence is ReviewSequence.first
    assert result.next_review.due_by.value == date(2017, 10, 2)
    assert result.next_review.midway_on is None


def test_first_review_after_returning_makes_the_next_one_the_second() -> None:
    # 28 Sep 2017 + 91 days = 28 Dec 2017.
    reviews = held(date(2017, 5, 4), date(2017, 9, 28))
    result = compute_schedule(LEFT_AND_RETURNED, reviews, RULES, date(2017, 10, 1))
    assert [r.review.held_on for r in result.reviews] == [date(2017, 9, 28)]
    assert result.reviews[0].sequence is ReviewSequence.first
    assert result.next_review is not None
    assert result.next_review.sequence is ReviewSequence.second
    assert result.next_review.due_by.value == date(2017, 12, 28)


def test_between_periods_the_child_is_not_looked_after() -> None:
    result = compute_schedule(LEFT_AND_RETURNED, held(date(2017, 5, 4)), RULES, date(2017, 8, 1))
    assert result.status is ScheduleStatus.ended
    assert result.period is not None
    assert result.period.start == date(2017, 4, 3)


# Episodes and periods of care -----------------------------------------------------------------


def test_episode_starting_the_day_the_previous_ended_continues_the_period() -> None:
    episodes = [
        EpisodeFacts(date(2017, 4, 3), date(2017, 6, 1), "C1", "S"),
        EpisodeFacts(date(2017, 6, 1), None, "C2", "L"),  # REC X1: legal status changed
    ]
    [period] = periods_of_care(episodes)
    assert (period.start, period.end, period.legal_status) == (date(2017, 4, 3), None, "C2")
    assert period.legal_status_on(date(2017, 5, 1)) == "C1"
    assert period.legal_status_on(date(2017, 6, 1)) == "C2"
    result = compute_schedule(episodes, [], RULES, date(2017, 6, 5))
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 5, 4)  # still the first review


def test_episode_with_reason_s_starts_a_new_period_even_on_the_day_the_previous_ended() -> None:
    # From Thu 1 Jun 2017: 2 (1), 5-9 (6), 12-16 (11), 19-23 (16), 26-29 Jun (20).
    episodes = [
        EpisodeFacts(date(2017, 4, 3), date(2017, 6, 1), "C1", "S"),
        EpisodeFacts(date(2017, 6, 1), None, "V2", "S"),
    ]
    assert [p.start for p in periods_of_care(episodes)] == [date(2017, 4, 3), date(2017, 6, 1)]
    result = compute_schedule(episodes, [], RULES, date(2017, 6, 5))
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 6, 29)


def test_episode_starting_after_a_gap_starts_a_new_period() -> None:
    episodes = [
        EpisodeFacts(date(2017, 4, 3), date(2017, 6, 1), "C1", "S"),
        EpisodeFacts(date(2017, 6, 2), None, "C2", "L"),
    ]
    assert [(p.start, p.end) for p in periods_of_care(episodes)] == [
        (date(2017, 4, 3), date(2017, 6, 1)),
        (date(2017, 6, 2), None),
    ]


def test_periods_are_in_date_order_whatever_order_the_episodes_arrive_in() -> None:
    episodes = list(reversed(LEFT_AND_RETURNED))
    assert [p.start for p in periods_of_care(episodes)] == [date(2017, 4, 3), date(2017, 9, 4)]


# Replaying a past day (as_at) -----------------------------------------------------------------


def test_reviews_held_after_as_at_are_ignored() -> None:
    episodes = [EpisodeFacts(date(2017, 4, 3), None, "C2", "S")]
    result = compute_schedule(episodes, held(date(2017, 5, 4)), RULES, date(2017, 5, 3))
    assert result.reviews == ()
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 5, 4)
    assert result.status is ScheduleStatus.due_soon


def test_episode_ending_after_as_at_had_not_ended_on_that_day() -> None:
    episodes = [EpisodeFacts(date(2017, 4, 3), date(2017, 6, 30), "C2", "S")]
    result = compute_schedule(episodes, held(date(2017, 5, 4)), RULES, date(2017, 6, 1))
    assert result.period is not None
    assert result.period.end is None
    assert result.status is ScheduleStatus.not_due_yet
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 8, 3)


def test_period_starting_after_as_at_was_not_known_on_that_day() -> None:
    result = compute_schedule(LEFT_AND_RETURNED, [], RULES, date(2017, 8, 1))
    assert result.period is not None
    assert result.period.start == date(2017, 4, 3)
    assert result.status is ScheduleStatus.ended


# Short breaks (reg 48): V3 / V4 ---------------------------------------------------------------

SHORT_BREAKS = [
    EpisodeFacts(date(2017, 4, 3), date(2017, 4, 5), "V3", "S"),
    EpisodeFacts(date(2017, 5, 1), date(2017, 5, 3), "V3", "S"),
    EpisodeFacts(date(2017, 6, 5), date(2017, 6, 7), "V3", "S"),
]


def test_a_series_of_short_breaks_is_one_period_on_the_reg_48_clock_gaps_included() -> None:
    [period] = periods_of_care(SHORT_BREAKS)
    assert (period.start, period.end, period.clock) == (
        date(2017, 4, 3),
        date(2017, 6, 7),
        Clock.reg_48,
    )


def test_first_short_break_review_due_3_months_after_the_first_break() -> None:
    # 3 Apr 2017 + 91 days: 27 left in April, 31 in May, 30 in June, then 3 Jul.
    result = compute_schedule(SHORT_BREAKS, [], RULES, date(2017, 6, 10))
    assert result.status is not ScheduleStatus.ended  # between breaks
    assert result.next_review is not None
    assert result.next_review.sequence is ReviewSequence.first
    assert result.next_review.due_by.value == date(2017, 7, 3)
    assert "2017-04-03" in result.next_review.due_by.explanation


def test_short_break_reviews_after_the_first_are_6_months_apart() -> None:
    # Reviewed during the third break on 6 Jun 2017: next due 6 Jun + 183 days = 6 Dec 2017.
    result = compute_schedule(SHORT_BREAKS, held(date(2017, 6, 6)), RULES, date(2017, 6, 10))
    assert result.reviews[0].in_timescale
    assert result.next_review is not None
    assert result.next_review.sequence is ReviewSequence.subsequent
    assert result.next_review.due_by.value == date(2017, 12, 6)


def test_short_break_review_held_between_breaks_counts() -> None:
    # Reviewed on 20 Jun 2017, after the last break so far ended (7 Jun): next due
    # 20 Jun + 183 days = 20 Dec 2017.
    result = compute_schedule(SHORT_BREAKS, held(date(2017, 6, 20)), RULES, date(2017, 6, 25))
    assert [r.review.held_on for r in result.reviews] == [date(2017, 6, 20)]
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 12, 20)
    assert result.status is ScheduleStatus.not_due_yet


def test_unreviewed_series_of_short_breaks_is_overdue_between_breaks() -> None:
    result = compute_schedule(SHORT_BREAKS, [], RULES, date(2017, 7, 20))
    assert result.status is ScheduleStatus.overdue


def test_series_of_short_breaks_lapses_6_months_after_the_last_break() -> None:
    # Last break ended 7 Jun 2017; 183 days later is 7 Dec 2017.
    assert compute_schedule(SHORT_BREAKS, [], RULES, date(2017, 12, 7)).status is not (
        ScheduleStatus.ended
    )
    assert compute_schedule(SHORT_BREAKS, [], RULES, date(2017, 12, 8)).status is (
        ScheduleStatus.ended
    )


def test_v4_short_breaks_follow_the_same_clock_under_calendar_months() -> None:
    rules = ScheduleRules(CALENDAR, month_rule=MonthRule.calendar)
    episodes = [
        EpisodeFacts(date(2023, 11, 30), date(2023, 12, 2), "V4", "S"),
        EpisodeFacts(date(2024, 1, 10), date(2024, 1, 12), "V4", "S"),
    ]
    first = compute_schedule(episodes, [], rules, date(2024, 1, 11)).next_review
    assert first is not None
    assert first.due_by.value == date(2024, 2, 29)  # 30 Nov + 3 calendar months
    after = compute_schedule(episodes, held(date(2024, 2, 29)), rules, date(2024, 3, 1))
    assert after.next_review is not None
    assert after.next_review.due_by.value == date(2024, 8, 29)  # + 6 calendar months


def test_child_on_short_breaks_who_comes_into_care_starts_a_reg_33_period() -> None:
    episodes = [*SHORT_BREAKS, EpisodeFacts(date(2017, 9, 4), None, "C1", "S")]
    result = compute_schedule(episodes, held(date(2017, 6, 6)), RULES, date(2017, 9, 10))
    assert result.period is not None
    assert (result.period.start, result.period.clock) == (date(2017, 9, 4), Clock.reg_33)
    assert result.reviews == ()
    assert result.next_review is not None
    assert result.next_review.due_by.value == date(2017, 10, 2)
