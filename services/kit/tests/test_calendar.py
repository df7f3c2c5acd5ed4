from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iro_kit.calendar import WorkingDayCalendar

cal = WorkingDayCalendar()


@pytest.mark.parametrize(
    "day",
    [
        date(2017, 4, 14),  # Good Friday
        date(2017, 4, 17),  # Easter Monday (England only: plain GB omits it)
        date(2017, 5, 1),
        date(2017, 8, 28),  # August bank holiday (England)
        date(2020, 5, 8),  # VE Day 75, moved early May holiday
        date(2022, 6, 3),  # Platinum Jubilee
        date(2022, 9, 19),  # State funeral of Queen Elizabeth II
        date(2023, 5, 8),  # Coronation of King Charles III
        date(2022, 6, 2),  # Spring bank holiday moved for the Jubilee
    ],
)
def test_bank_holidays_are_not_working_days(day: date) -> None:
    assert day.weekday() < 5
    assert cal.is_bank_holiday(day)
    assert not cal.is_working_day(day)


def test_weekends_are_not_working_days_and_ordinary_weekdays_are() -> None:
    assert not cal.is_working_day(date(2017, 4, 8))  # Saturday
    assert not cal.is_working_day(date(2017, 4, 9))  # Sunday
    assert cal.is_working_day(date(2017, 4, 10))
    assert cal.is_working_day(date(2020, 5, 4))  # early May holiday moved to the 8th in 2020


def test_first_review_of_child_looked_after_on_3_april_2017_due_by_4_may() -> None:
    # DOMAIN.md's example: Good Friday, Easter Monday and 1 May are not working days.
    assert cal.add_working_days(date(2017, 4, 3), 20) == date(2017, 5, 4)
    assert cal.working_days_between(date(2017, 4, 3), date(2017, 5, 4)) == 20


def test_easter_2017_one_working_day_after_maundy_thursday_is_tuesday() -> None:
    assert cal.add_working_days(date(2017, 4, 13), 1) == date(2017, 4, 18)
    assert cal.subtract_working_days(date(2017, 4, 18), 1) == date(2017, 4, 13)


@pytest.mark.parametrize(
    ("christmas_year", "substitutes"),
    [
        (2021, [date(2021, 12, 27), date(2021, 12, 28)]),  # 25th Saturday, 26th Sunday
        (2022, [date(2022, 12, 26), date(2022, 12, 27)]),  # 25th Sunday: Boxing Day Mon, sub Tue
        (2027, [date(2027, 12, 27), date(2027, 12, 28)]),  # 25th Saturday again
    ],
)
def test_christmas_on_a_weekend_gives_substitute_days(
    christmas_year: int, substitutes: list[date]
) -> None:
    for day in substitutes:
        assert day.weekday() < 5
        assert not cal.is_working_day(day), day
    last_before = date(christmas_year, 12, 24)
    while not cal.is_working_day(last_before):
        last_before -= timedelta(days=1)
    assert cal.add_working_days(last_before, 1) == max(substitutes) + timedelta(days=1)


def test_boxing_day_on_a_saturday_gives_a_monday_substitute() -> None:
    # 2020: Christmas Friday, Boxing Day Saturday, substitute Monday 28 December.
    assert cal.is_working_day(date(2020, 12, 24))
    assert not cal.is_working_day(date(2020, 12, 25))
    assert not cal.is_working_day(date(2020, 12, 28))
    assert cal.add_working_days(date(2020, 12, 24), 1) == date(2020, 12, 29)
    assert not cal.is_working_day(date(2026, 12, 28))


def test_year_boundary_new_years_day_and_weekend_are_skipped() -> None:
    # 31 Dec 2020 Thursday; 1 Jan 2021 Friday is a bank holiday; next working day Monday 4th.
    assert cal.add_working_days(date(2020, 12, 31), 1) == date(2021, 1, 4)
    assert cal.subtract_working_days(date(2021, 1, 4), 1) == date(2020, 12, 31)
    # New Year's Day 2022 was a Saturday: the substitute is Monday 3 Jan.
    assert not cal.is_working_day(date(2022, 1, 3))
    assert cal.add_working_days(date(2021, 12, 31), 1) == date(2022, 1, 4)
    # After Fri 24 Dec 2021: 27 and 28 Dec are substitutes, 3 Jan too; 29, 30, 31 Dec and 4 Jan.
    assert cal.working_days_between(date(2021, 12, 24), date(2022, 1, 4)) == 4


def test_working_days_between_counts_strictly_after_start() -> None:
    monday = date(2023, 5, 15)
    assert cal.working_days_between(monday, monday) == 0
    assert cal.working_days_between(monday, date(2023, 5, 16)) == 1
    assert cal.working_days_between(monday, date(2023, 5, 22)) == 5
    assert cal.working_days_between(date(2023, 5, 22), monday) == -5


def test_extra_closure_days_from_settings_are_not_working_days() -> None:
    closure = date(2023, 12, 29)  # a Friday the service closes
    with_closure = WorkingDayCalendar([closure])
    assert cal.is_working_day(closure)
    assert not with_closure.is_working_day(closure)
    assert with_closure.holiday_name(closure) == "Service closure day"
    assert with_closure.add_working_days(date(2023, 12, 28), 1) == date(2024, 1, 2)


def test_last_working_day_on_or_before_a_sunday_bank_holiday_weekend() -> None:
    # Easter Monday 2017: the last working day on or before it is Maundy Thursday.
    assert cal.last_working_day_on_or_before(date(2017, 4, 17)) == date(2017, 4, 13)
    assert cal.last_working_day_on_or_before(date(2017, 4, 13)) == date(2017, 4, 13)


# Across the edges of the precomputed table too, where the calendar counts day by day.
days = st.dates(min_value=date(1985, 1, 1), max_value=date(2080, 12, 31))
counts = st.integers(min_value=0, max_value=300)


@given(days, st.integers(min_value=1, max_value=300))
def test_adding_then_subtracting_returns_to_a_working_day(start: date, n: int) -> None:
    back = cal.subtract_working_days(cal.add_working_days(start, n), n)
    assert cal.is_working_day(back)
    if cal.is_working_day(start):
        assert back == start
    else:
        assert back == cal.last_working_day_on_or_before(start)


@given(days, st.integers(min_value=1, max_value=300))
def test_result_of_adding_is_always_a_working_day(start: date, n: int) -> None:
    assert cal.is_working_day(cal.add_working_days(start, n))
    assert cal.is_working_day(cal.subtract_working_days(start, n))


@given(days, counts)
def test_n_plus_one_working_days_is_always_later_than_n(start: date, n: int) -> None:
    assert cal.add_working_days(start, n + 1) > cal.add_working_days(start, n)


@given(days, counts)
def test_counting_inverts_adding(start: date, n: int) -> None:
    assert cal.working_days_between(start, cal.add_working_days(start, n)) == n


ENGLAND = holidays.country_holidays("GB", subdiv="ENG")


def _independent_add(start: date, n: int) -> date:
    """Counting day by day from the holidays package, sharing no code with the calendar."""
    day, step = start, timedelta(days=1 if n >= 0 else -1)
    for _ in range(abs(n)):
        day += step
        while day.weekday() >= 5 or day in ENGLAND:
            day += step
    return day


@given(days, st.integers(min_value=-300, max_value=300))
def test_table_lookups_agree_with_counting_day_by_day(start: date, n: int) -> None:
    assert cal.add_working_days(start, n) == _independent_add(start, n)
    assert cal.next_working_day_on_or_after(start) >= start
    assert cal.is_working_day(cal.next_working_day_on_or_after(start))
    assert cal.last_working_day_on_or_before(start) <= start
