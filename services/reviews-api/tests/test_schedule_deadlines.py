"""The dates around a due date (plan-by, visit-by, last working day, midway) and the status.

Every expected date below was counted by hand against England's bank holidays.
"""

from __future__ import annotations

from datetime import date

import pytest

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import (
    EpisodeFacts,
    NextReview,
    ReviewFacts,
    ScheduleRules,
    ScheduleStatus,
    compute_schedule,
)

RULES = ScheduleRules(WorkingDayCalendar())

# Looked after Mon 3 Apr 2017: first review due Thu 4 May 2017 (across Easter and 1 May).
EASTER_2017 = date(2017, 4, 3)
# Looked after Mon 19 Dec 2016, first review held Mon 16 Jan 2017: second due 16 Jan + 91 days
# = Easter Monday 17 Apr 2017.
CHRISTMAS_2016 = date(2016, 12, 19)


def next_review(
    looked_after_on: date,
    held: list[date],
    as_at: date,
    scheduled_for: date | None = None,
    end: date | None = None,
) -> NextReview:
    episodes = [EpisodeFacts(looked_after_on, end, "C2", "S")]
    reviews = [ReviewFacts(d) for d in held]
    result = compute_schedule(episodes, reviews, RULES, as_at, scheduled_for)
    assert result.next_review is not None
    return result.next_review


def status_on(as_at: date, end: date | None = None) -> ScheduleStatus:
    # First review held 4 May 2017: second due Thu 3 Aug 2017.
    episodes = [EpisodeFacts(EASTER_2017, end, "C2", "S")]
    return compute_schedule(episodes, [ReviewFacts(date(2017, 5, 4))], RULES, as_at).status


# Plan-by: 20 working days before the due date -------------------------------------------------


def test_plan_by_is_20_working_days_before_a_due_date_after_easter() -> None:
    # Back from Thu 4 May 2017: 3, 2 May (2); 1 May skipped; 28-24 Apr (7); 21-18 Apr (11);
    # Easter Monday 17 and Good Friday 14 skipped; 13-10 Apr (15); 7-3 Apr (20).
    review = next_review(EASTER_2017, [], EASTER_2017)
    assert review.plan_by.value == date(2017, 4, 3)
    assert review.plan_by.counted_from == date(2017, 5, 4)


def test_plan_by_for_a_due_date_on_easter_monday_skips_good_friday() -> None:
    # Back from Mon 17 Apr 2017: Good Friday 14 skipped; 13-10 Apr (4); 7-3 Apr (9);
    # 31-27 Mar (14); 24-20 Mar (19); Fri 17 Mar (20).
    review = next_review(CHRISTMAS_2016, [date(2017, 1, 16)], date(2017, 1, 16))
    assert review.due_by.value == date(2017, 4, 17)
    assert review.plan_by.value == date(2017, 3, 17)


# Visit-by: 5 working days before the booked review, or before the due date --------------------


def test_visit_by_is_5_working_days_before_the_due_date_when_no_review_is_booked() -> None:
    # Back from Thu 4 May 2017: 3, 2 May; 1 May skipped; 28, 27, 26 Apr.
    review = next_review(EASTER_2017, [], EASTER_2017)
    assert review.scheduled_for is None
    assert review.visit_by.value == date(2017, 4, 26)
    assert "2017-05-04" in review.visit_by.explanation


def test_visit_by_is_5_working_days_before_the_booked_review_across_easter() -> None:
    # Booked Thu 20 Apr 2017. Back: 19, 18 Apr; Easter Monday and Good Friday skipped;
    # 13, 12, 11 Apr.
    review = next_review(EASTER_2017, [], EASTER_2017, scheduled_for=date(2017, 4, 20))
    assert review.scheduled_for == date(2017, 4, 20)
    assert review.visit_by.value == date(2017, 4, 11)
    assert "2017-04-20" in review.visit_by.explanation
    assert review.due_by.value == date(2017, 5, 4)  # booking never moves the due date


def test_visit_by_for_a_due_date_on_easter_monday_skips_good_friday() -> None:
    review = next_review(CHRISTMAS_2016, [date(2017, 1, 16)], date(2017, 1, 16))
    assert review.visit_by.value == date(2017, 4, 7)  # 13, 12, 11, 10, 7 Apr


def test_a_booking_not_after_the_previous_review_is_ignored() -> None:
    held = [date(2017, 5, 4)]
    review = next_review(EASTER_2017, held, date(2017, 5, 4), scheduled_for=date(2017, 5, 4))
    assert review.scheduled_for is None
    assert review.visit_by.value == date(2017, 7, 27)  # 2, 1 Aug, 31, 28, 27 Jul


def test_visit_counts_from_the_day_after_the_previous_review() -> None:
    assert next_review(EASTER_2017, [], EASTER_2017).visit_from == EASTER_2017
    after_first = next_review(EASTER_2017, [date(2017, 5, 4)], date(2017, 5, 4))
    assert after_first.visit_from == date(2017, 5, 5)


# Last working day on or before the due date ---------------------------------------------------


def test_due_date_on_easter_monday_keeps_its_date_and_shows_the_thursday_before() -> None:
    review = next_review(CHRISTMAS_2016, [date(2017, 1, 16)], date(2017, 1, 16))
    assert review.due_by.value == date(2017, 4, 17)
    assert review.last_working_day.value == date(2017, 4, 13)
    assert "2017-04-17" in review.last_working_day.explanation


def test_due_date_on_a_saturday_shows_the_friday_before() -> None:
    # Second review held Fri 28 Jul 2017 (early): third due 28 Jul + 183 days = Sat 27 Jan 2018.
    held = [date(2017, 5, 4), date(2017, 7, 28)]
    review = next_review(EASTER_2017, held, date(2017, 7, 28))
    assert review.due_by.value == date(2018, 1, 27)
    assert review.last_working_day.value == date(2018, 1, 26)


def test_due_date_on_a_working_day_is_its_own_last_working_day() -> None:
    review = next_review(EASTER_2017, [], EASTER_2017)
    assert review.last_working_day.value == review.due_by.value == date(2017, 5, 4)


# Midway review --------------------------------------------------------------------------------


def test_no_midway_review_before_the_first_review() -> None:
    assert next_review(EASTER_2017, [], EASTER_2017).midway_on is None


def test_midway_is_half_the_interval_after_the_previous_review_rounded_down() -> None:
    # 16 Jan -> 17 Apr 2017 is 91 days; 45 days after 16 Jan is 2 Mar.
    review = next_review(CHRISTMAS_2016, [date(2017, 1, 16)], date(2017, 1, 16))
    assert review.midway_on is not None
    assert review.midway_on.value == date(2017, 3, 2)
    assert review.midway_on.counted_from == date(2017, 1, 16)
    assert "2017-01-16" in review.midway_on.explanation


def test_midway_of_a_six_month_interval() -> None:
    # 28 Jul 2017 -> 27 Jan 2018 is 183 days; 91 days after 28 Jul is 27 Oct.
    held = [date(2017, 5, 4), date(2017, 7, 28)]
    review = next_review(EASTER_2017, held, date(2017, 7, 28))
    assert review.midway_on is not None
    assert review.midway_on.value == date(2017, 10, 27)


# Status on a given day (second review due Thu 3 Aug 2017, plan-by Thu 6 Jul) -------------------


@pytest.mark.parametrize(
    ("as_at", "status"),
    [
        (date(2017, 5, 4), ScheduleStatus.not_due_yet),
        (date(2017, 7, 5), ScheduleStatus.not_due_yet),
        (date(2017, 7, 6), ScheduleStatus.plan_now),  # 20 working days before
        (date(2017, 7, 19), ScheduleStatus.plan_now),  # 11 working days before
        (date(2017, 7, 20), ScheduleStatus.due_soon),  # 10 working days before
        (date(2017, 7, 22), ScheduleStatus.due_soon),  # a Saturday, 9 working days before
        (date(2017, 8, 3), ScheduleStatus.due_soon),  # the due date itself
        (date(2017, 8, 4), ScheduleStatus.overdue),  # the day after
        (date(2018, 8, 4), ScheduleStatus.overdue),
    ],
)
def test_status_of_the_second_review_on_the_day(as_at: date, status: ScheduleStatus) -> None:
    assert status_on(as_at) is status


def test_status_is_ended_once_the_child_is_no_longer_looked_after() -> None:
    assert status_on(date(2017, 6, 29), end=date(2017, 6, 30)) is ScheduleStatus.not_due_yet
    assert status_on(date(2017, 6, 30), end=date(2017, 6, 30)) is ScheduleStatus.ended
    assert status_on(date(2017, 8, 4), end=date(2017, 6, 30)) is ScheduleStatus.ended


def test_first_review_is_plan_now_from_the_day_the_child_becomes_looked_after() -> None:
    result = compute_schedule([EpisodeFacts(EASTER_2017, None, "V2")], [], RULES, EASTER_2017)
    assert result.status is ScheduleStatus.plan_now


def test_a_child_never_looked_after_has_no_schedule() -> None:
    result = compute_schedule([], [], RULES, EASTER_2017)
    assert result.status is ScheduleStatus.ended
    assert (result.period, result.next_review, result.reviews) == (None, None, ())


# IRO allocation -------------------------------------------------------------------------------


def test_iro_allocation_due_5_working_days_after_becoming_looked_after() -> None:
    result = compute_schedule([EpisodeFacts(EASTER_2017, None, "C1")], [], RULES, EASTER_2017)
    assert result.allocation_due_by is not None
    assert result.allocation_due_by.value == date(2017, 4, 10)  # 4, 5, 6, 7, 10 Apr
    assert "2017-04-03" in result.allocation_due_by.explanation


# Extra closure days (configuration) -----------------------------------------------------------


def test_a_configured_closure_day_moves_the_first_review_and_the_allocation() -> None:
    # Closing Tue 4 Apr 2017 pushes both counts one working day on: 11 Apr and 5 May.
    closed = ScheduleRules(WorkingDayCalendar(extra_closures=[date(2017, 4, 4)]))
    episodes = [EpisodeFacts(EASTER_2017, None, "C2", "S")]
    usual = compute_schedule(episodes, [], RULES, EASTER_2017)
    with_closure = compute_schedule(episodes, [], closed, EASTER_2017)
    assert usual.next_review is not None and with_closure.next_review is not None
    assert usual.next_review.due_by.value == date(2017, 5, 4)
    assert with_closure.next_review.due_by.value == date(2017, 5, 5)
    assert usual.allocation_due_by is not None and with_closure.allocation_due_by is not None
    assert (usual.allocation_due_by.value, with_closure.allocation_due_by.value) == (
        date(2017, 4, 10),
        date(2017, 4, 11),
    )
