"""Extreme dates (issue 11): constant-time working days over the whole supported range, no
OverflowError from any date Python can hold, and the kit's date types."""

from __future__ import annotations

import time
from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from iro_kit.calendar import TABLE_FIRST_YEAR, TABLE_LAST_YEAR, WorkingDayCalendar, _table
from iro_kit.dates import FIRST_DAY, LAST_DAY, BirthDate, Day, shift, today
from iro_kit.schedule import (
    EpisodeFacts,
    MonthRule,
    ReviewFacts,
    ScheduleRules,
    add_months,
    compute_schedule,
)

CLOSURE = date(2099, 6, 1)  # a Monday
cal = WorkingDayCalendar([CLOSURE])
_HOLIDAYS = holidays.country_holidays(
    "GB", subdiv="ENG", years=range(TABLE_FIRST_YEAR, TABLE_LAST_YEAR + 1)
)


def _reference_is_working(day: date) -> bool:
    if day.weekday() >= 5:
        return False
    if TABLE_FIRST_YEAR <= day.year <= TABLE_LAST_YEAR:
        return day not in _HOLIDAYS and day != CLOSURE
    return True  # outside the table: Monday to Friday (documented)


def _reference_add(start: date, n: int) -> date:
    step, day, remaining = timedelta(days=1 if n > 0 else -1), start, abs(n)
    while remaining:
        day += step
        remaining -= _reference_is_working(day)
    return day


def test_the_table_covers_the_supported_range_with_a_margin() -> None:
    assert FIRST_DAY.year > TABLE_FIRST_YEAR and LAST_DAY.year < TABLE_LAST_YEAR
    assert (date(1900, 1, 1), date(2099, 12, 31)) == (FIRST_DAY, LAST_DAY)


def test_the_table_builds_quickly() -> None:
    started = time.perf_counter()
    _table(frozenset({date(2001, 2, 3)}))  # a closure set no other test uses: a fresh build
    assert time.perf_counter() - started < 0.3


edges = st.sampled_from(
    [date(1898, 12, 20), date(1899, 1, 1), date(1900, 1, 1), date(2099, 12, 31),
     date(2100, 12, 31), date(2101, 1, 2), date(2099, 5, 29)]
)  # fmt: skip
days = st.dates(date(1890, 1, 1), date(2110, 12, 31)) | edges


@settings(max_examples=300)
@given(days, st.integers(-400, 400))
def test_working_day_arithmetic_matches_counting_day_by_day(start: date, n: int) -> None:
    expected = _reference_add(start, n)
    assert cal.add_working_days(start, n) == expected
    if n >= 0 or _reference_is_working(start):  # (e, d] holds d itself when n < 0
        assert cal.working_days_between(start, expected) == n
    assert cal.is_working_day(start) == _reference_is_working(start)


@given(days)
def test_nearest_working_days_match_counting_day_by_day(day: date) -> None:
    before, after = day, day
    while not _reference_is_working(before):
        before -= timedelta(days=1)
    while not _reference_is_working(after):
        after += timedelta(days=1)
    assert cal.last_working_day_on_or_before(day) == before
    assert cal.next_working_day_on_or_after(day) == after


def test_a_closure_day_and_a_bank_holiday_at_the_end_of_the_range_are_not_worked() -> None:
    assert not cal.is_working_day(CLOSURE)
    assert not cal.is_working_day(date(2099, 12, 25))
    assert cal.add_working_days(date(2099, 5, 29), 1) == date(2099, 6, 2)


def test_any_question_is_constant_time_even_far_outside_the_range() -> None:
    started = time.perf_counter()
    for _ in range(2000):
        cal.working_days_between(date.min, date.max)
        cal.add_working_days(date(1, 1, 1), 2_000_000)
        cal.subtract_working_days(date(9999, 12, 31), 2_000_000)
        cal.last_working_day_on_or_before(date(5000, 1, 1))
    assert time.perf_counter() - started < 0.5


def test_no_overflow_at_the_ends_of_python_dates() -> None:
    assert cal.add_working_days(date.max, 5) == date.max
    assert cal.subtract_working_days(date.min, 5) == date.min
    assert cal.subtract_working_days(date(1, 1, 2), 5) == date.min
    assert cal.last_working_day_on_or_before(date.min) == date.min  # a Monday, 0001-01-01
    assert cal.next_working_day_on_or_after(date.max) == date.max
    assert cal.working_days_between(date.min, date.max) > 0
    for rule in MonthRule:
        assert add_months(date.max, 6, rule) == date.max
        assert add_months(date(9999, 11, 30), 3, rule) == date.max
    assert add_months(date.min, -1, MonthRule.calendar) == date.min
    assert shift(date.max, 1) == date.max and shift(date.min, -1) == date.min


@pytest.mark.parametrize(
    ("started", "booked", "held"),
    [
        (date.min, date.min + timedelta(days=1), None),
        (date.min, date.min + timedelta(days=3), date.min + timedelta(days=1)),
        (date.min, date.max, date.max),
        (date.max - timedelta(days=2), date.max, date.max - timedelta(days=1)),
    ],
)
@pytest.mark.parametrize("as_at", [date(2026, 1, 1), LAST_DAY, FIRST_DAY, date.max])
def test_a_schedule_from_extreme_stored_dates_never_raises(
    started: date, booked: date, held: date | None, as_at: date
) -> None:
    reviews = [ReviewFacts(held)] if held else []
    for month_rule in MonthRule:
        rules = ScheduleRules(cal, month_rule=month_rule)
        episodes = [EpisodeFacts(started, None, "C2"), EpisodeFacts(started, None, "V3")]
        for episode in episodes:
            compute_schedule([episode], reviews, rules, as_at, booked)


@pytest.mark.parametrize("value", ["1900-01-01", "2026-02-28", "2099-12-31", date(2017, 4, 3)])
def test_a_day_is_an_iso_date_in_the_range(value: object) -> None:
    assert FIRST_DAY <= TypeAdapter(Day).validate_python(value) <= LAST_DAY


@pytest.mark.parametrize(
    "value",
    [0, 1700000000, 1.5, "0", "1700000000", "2026-1-1", "2026-01-01T00:00:00", "20260101",
     "2026-02-30", "1899-12-31", "2100-01-01", "0001-01-01", "9999-12-31", None, True]
)  # fmt: skip
def test_anything_else_is_refused_naming_the_range_or_the_format(value: object) -> None:
    with pytest.raises(ValidationError) as raised:
        TypeAdapter(Day).validate_python(value)
    message = raised.value.errors()[0]["msg"]
    assert "1900-01-01 to 2099-12-31" in message or "YYYY-MM-DD" in message, message


def test_a_json_day_must_be_an_iso_string() -> None:
    assert TypeAdapter(Day).validate_json('"2017-04-03"') == date(2017, 4, 3)
    with pytest.raises(ValidationError):
        TypeAdapter(Day).validate_json("0")


def test_a_date_of_birth_runs_from_1900_to_today() -> None:
    birth = TypeAdapter(BirthDate)
    assert birth.validate_python(today().isoformat()) == today()
    assert birth.validate_python("1900-01-01") == FIRST_DAY
    for refused in ((today() + timedelta(days=1)).isoformat(), "1899-12-31", "9999-01-01", 0):
        with pytest.raises(ValidationError):
            birth.validate_python(refused)
