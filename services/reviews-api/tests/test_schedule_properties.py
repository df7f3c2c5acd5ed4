"""Invariants of the schedule, checked over generated children (Hypothesis).

A due date is never before the previous review; holding a review, or holding it later, never
shortens the schedule; the reviews assessed are exactly those held in the current period; a
schedule not asked to assess its reviews (the worklists') is the same but for them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import (
    EpisodeFacts,
    MonthRule,
    ReviewFacts,
    ScheduleRules,
    compute_schedule,
)

CALENDAR = WorkingDayCalendar()
RULES = {rule: ScheduleRules(CALENDAR, month_rule=rule) for rule in MonthRule}
EXAMPLES = settings(max_examples=150, deadline=None)

starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2045, 12, 31))
month_rules = st.sampled_from(list(MonthRule))
legal_statuses = st.sampled_from(["C1", "C2", "V2", "E1", "V3", "V4"])
# Gaps between reviews, in days: from "the next day" to well beyond a year.
gaps = st.lists(st.integers(min_value=1, max_value=400), max_size=8)


def held_dates(start: date, first_offset: int, later_gaps: list[int]) -> list[date]:
    days = [start + timedelta(days=first_offset)]
    for gap in later_gaps:
        days.append(days[-1] + timedelta(days=gap))
    return days


def next_due(start: date, status: str, held: list[date], rule: MonthRule, as_at: date) -> date:
    episodes = [EpisodeFacts(start, None, status, "S")]
    result = compute_schedule(episodes, [ReviewFacts(d) for d in held], RULES[rule], as_at)
    assert result.next_review is not None
    return result.next_review.due_by.value


@EXAMPLES
@given(starts, legal_statuses, st.integers(0, 60), gaps, month_rules)
def test_due_by_is_never_before_the_previous_review(
    start: date, status: str, first_offset: int, later_gaps: list[int], rule: MonthRule
) -> None:
    held = held_dates(start, first_offset, later_gaps)
    episodes = [EpisodeFacts(start, None, status, "S")]
    result = compute_schedule(episodes, [ReviewFacts(d) for d in held], RULES[rule], held[-1])
    assert result.next_review is not None
    assert result.next_review.due_by.value > held[-1]
    for previous, assessed in zip(result.reviews, result.reviews[1:], strict=False):
        assert assessed.due_by.value > previous.review.held_on
    assert result.reviews[0].due_by.value > start


@EXAMPLES
@given(
    starts,
    legal_statuses,
    st.booleans(),
    st.integers(0, 60),
    gaps,
    st.integers(1, 400),
    month_rules,
)
def test_holding_a_review_never_brings_the_next_due_date_forward(
    start: date,
    status: str,
    any_before: bool,
    first_offset: int,
    later_gaps: list[int],
    gap: int,
    rule: MonthRule,
) -> None:
    before = held_dates(start, first_offset, later_gaps) if any_before else []
    held_on = (before[-1] if before else start) + timedelta(days=gap - (0 if before else 1))
    without = next_due(start, status, before, rule, held_on)
    with_review = next_due(start, status, [*before, held_on], rule, held_on)
    assert with_review >= held_on
    assert with_review >= without


@EXAMPLES
@given(
    starts,
    legal_statuses,
    st.integers(0, 60),
    gaps.filter(bool),
    st.data(),
    month_rules,
)
def test_holding_a_review_later_never_shortens_the_schedule(
    start: date,
    status: str,
    first_offset: int,
    later_gaps: list[int],
    data: st.DataObject,
    rule: MonthRule,
) -> None:
    held = held_dates(start, first_offset, later_gaps)
    moved = data.draw(st.integers(0, len(held) - 1), label="moved review")
    room = (held[moved + 1] - held[moved]).days - 1 if moved + 1 < len(held) else 400
    delay = data.draw(st.integers(0, room), label="days later")
    later = [*held]
    later[moved] += timedelta(days=delay)

    episodes = [EpisodeFacts(start, None, status, "S")]
    as_at = later[-1]
    on_time = compute_schedule(episodes, [ReviewFacts(d) for d in held], RULES[rule], as_at)
    delayed = compute_schedule(episodes, [ReviewFacts(d) for d in later], RULES[rule], as_at)
    assert on_time.next_review is not None
    assert delayed.next_review is not None
    assert delayed.next_review.due_by.value >= on_time.next_review.due_by.value
    for original, moved_review in zip(on_time.reviews, delayed.reviews, strict=True):
        assert moved_review.due_by.value >= original.due_by.value


@st.composite
def care_histories(draw: st.DrawFn) -> tuple[list[tuple[date, date | None]], list[date], date]:
    """Periods of care separated by gaps (each returning with RNE S), reviews on any day."""
    day = draw(starts)
    periods: list[tuple[date, date | None]] = []
    for _ in range(draw(st.integers(1, 3))):
        length = draw(st.integers(1, 900))
        periods.append((day, day + timedelta(days=length)))
        day += timedelta(days=length + draw(st.integers(1, 400)))
    if draw(st.booleans()):
        periods[-1] = (periods[-1][0], None)
    first, last = periods[0][0], day + timedelta(days=400)
    span = (last - first).days
    offsets = draw(st.lists(st.integers(-30, span), max_size=15, unique=True))
    as_at = first + timedelta(days=draw(st.integers(0, span)))
    return periods, [first + timedelta(days=o) for o in offsets], as_at


@EXAMPLES
@given(care_histories(), st.sampled_from(["C1", "C2", "V2", "E1"]), month_rules)
def test_reviews_assessed_are_those_held_in_the_current_period_by_as_at(
    history: tuple[list[tuple[date, date | None]], list[date], date],
    status: str,
    rule: MonthRule,
) -> None:
    periods, held, as_at = history
    episodes = [EpisodeFacts(start, end, status, "S") for start, end in periods]
    result = compute_schedule(episodes, [ReviewFacts(d) for d in held], RULES[rule], as_at)

    known = [(start, end) for start, end in periods if start <= as_at]
    start, end = known[-1]
    end = end if end is not None and end <= as_at else None  # an end after as_at is unknown
    expected = [d for d in held if d <= as_at and start <= d and (end is None or d <= end)]
    assert result.period is not None
    assert (result.period.start, result.period.end) == (start, end)
    assert sorted(r.review.held_on for r in result.reviews) == sorted(expected)
    assert (result.next_review is None) == (end is not None)


@EXAMPLES
@given(
    care_histories(),
    st.sampled_from(["C1", "C2", "V2", "E1", "V3", "V4"]),
    month_rules,
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(-60, 120)),
)
def test_a_schedule_without_its_reviews_assessed_is_otherwise_the_same(
    history: tuple[list[tuple[date, date | None]], list[date], date],
    status: str,
    rule: MonthRule,
    repeated: int,
    booked_in: int | None,
) -> None:
    """`compute_schedule(..., assess=False)` counts the held reviews instead of assessing each:
    every field but `reviews` must be what the full schedule says, short breaks included, with
    reviews held on the same day twice (the last one read is the previous review) and a booked
    date before or after the last review."""
    periods, held, as_at = history
    episodes = [EpisodeFacts(start, end, status, "S") for start, end in periods]
    reviews = [ReviewFacts(d, key=n) for n, d in enumerate(held + held[:repeated])]
    booked = None if booked_in is None else as_at + timedelta(days=booked_in)
    full = compute_schedule(episodes, reviews, RULES[rule], as_at, booked)
    light = compute_schedule(episodes, reviews, RULES[rule], as_at, booked, assess=False)
    assert light.reviews == ()
    assert light == replace(full, reviews=())
