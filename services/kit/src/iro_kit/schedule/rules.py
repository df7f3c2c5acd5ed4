"""Regulation 33 (and reg 48 for short breaks): when each review falls due.

Every interval runs from the date the previous review was actually held; a period of care that
ends stops the clock; a new period starts it again at "first review". Only facts dated on or
before `as_at` count, so a past day can be replayed exactly.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from operator import attrgetter

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.dates import shift
from iro_kit.schedule.model import (
    SHORT_BREAK_STATUSES,
    AssessedReview,
    Clock,
    EpisodeFacts,
    ExplainedDate,
    MonthRule,
    NextReview,
    PeriodOfCare,
    ReviewFacts,
    ReviewSequence,
    Schedule,
    ScheduleRules,
    ScheduleStatus,
)

_DAYS_FOR_MONTHS = {3: 91, 6: 183}
_by_start = attrgetter("start")
_by_held_on = attrgetter("held_on")


def add_months(day: date, months: int, rule: MonthRule) -> date:
    """`months` after `day`: 91/183 days under `days`, calendar months under `calendar`.

    Clamped to `date.min`..`date.max`: a record stored before dates were range-checked
    (iro_kit.dates) must not make a schedule fail.
    """
    if rule is MonthRule.days:
        interval = _DAYS_FOR_MONTHS.get(months)
        if interval is not None:
            return shift(day, interval)
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year < date.min.year:
        return date.min
    if year > date.max.year:
        return date.max
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _is_short_break(episode: EpisodeFacts) -> bool:
    return episode.legal_status in SHORT_BREAK_STATUSES


def periods_of_care(episodes: Iterable[EpisodeFacts]) -> list[PeriodOfCare]:
    """Group episodes into periods of care, oldest first.

    An episode continues the period when it starts on the day the previous one ended (REC X1)
    and its RNE is not S. An agreed series of short breaks (V3/V4) is one period from its first
    break to its last, gaps included: reg 48 reviews the arrangement, not each stay.
    """
    periods: list[PeriodOfCare] = []
    current: list[EpisodeFacts] = []
    for episode in sorted(episodes, key=_by_start):
        if current and _continues(current[-1], episode):
            current.append(episode)
            continue
        if current:
            periods.append(_period(current))
        current = [episode]
    if current:
        periods.append(_period(current))
    return periods


def _continues(previous: EpisodeFacts, episode: EpisodeFacts) -> bool:
    if _is_short_break(previous) and _is_short_break(episode):
        return True
    if episode.reason_new_episode == "S":
        return False
    # Open or overlapping previous episodes are data errors; keep them in one period.
    return previous.end is None or episode.start <= previous.end


def _period(episodes: list[EpisodeFacts]) -> PeriodOfCare:
    ends = [e.end for e in episodes]
    end = None if None in ends else max(ends)
    statuses = {e.legal_status for e in episodes}
    clock = Clock.reg_48 if statuses <= SHORT_BREAK_STATUSES else Clock.reg_33
    return PeriodOfCare(episodes[0].start, end, tuple(episodes), clock)


def _as_known_on(episodes: Iterable[EpisodeFacts], as_at: date) -> list[EpisodeFacts]:
    """Episodes as they stood on `as_at`: later starts unknown, later ends not yet happened."""
    known = []
    for episode in episodes:
        if episode.start > as_at:
            continue
        if episode.end is not None and episode.end > as_at:
            episode = EpisodeFacts(
                episode.start, None, episode.legal_status, episode.reason_new_episode
            )
        known.append(episode)
    return known


# Every review after the first: (clock, is it the second?) -> (sequence, rule text, months).
_LATER_REVIEWS = {
    (Clock.reg_33, True): (ReviewSequence.second, "reg33_second", 3),
    (Clock.reg_33, False): (ReviewSequence.subsequent, "reg33_subsequent", 6),
    (Clock.reg_48, True): (ReviewSequence.subsequent, "reg48_subsequent", 6),
    (Clock.reg_48, False): (ReviewSequence.subsequent, "reg48_subsequent", 6),
}


def _due_date(
    period: PeriodOfCare, previous: ReviewFacts | None, count: int, rules: ScheduleRules
) -> tuple[ReviewSequence, ExplainedDate]:
    """The due date of the review after `count` held ones (`previous` the last of them)."""
    month_rule = rules.month_rule
    if previous is not None:
        sequence, rule, months = _LATER_REVIEWS[period.clock, count == 1]
        return sequence, _months_after(previous.held_on, months, rule, month_rule)
    if period.clock is Clock.reg_48:
        return ReviewSequence.first, _months_after(period.start, 3, "reg48_first", month_rule)
    n = rules.first_review_working_days
    return ReviewSequence.first, _working_days_after(rules.calendar, period.start, n, "reg33_first")


# A whole authority's schedules share their dates, so each dated rule is worked out once per
# distinct date and kept (bench/schedule_bench.py). ExplainedDate is immutable, so schedules
# can share the instances; a calendar is part of the key by identity.
_SHARED_DATES = 1 << 15


@lru_cache(maxsize=_SHARED_DATES, typed=True)  # typed: a plain "days" is not MonthRule.days
def _months_after(
    counted_from: date, months: int, rule: str, month_rule: MonthRule
) -> ExplainedDate:
    due = add_months(counted_from, months, month_rule)
    return ExplainedDate(due, rule, counted_from, None, month_rule)


@lru_cache(maxsize=_SHARED_DATES)
def _working_days_after(
    calendar: WorkingDayCalendar, counted_from: date, n: int, rule: str
) -> ExplainedDate:
    return ExplainedDate(calendar.add_working_days(counted_from, n), rule, counted_from, n)


@lru_cache(maxsize=_SHARED_DATES)
def _working_days_before(
    calendar: WorkingDayCalendar, counted_from: date, n: int, rule: str
) -> ExplainedDate:
    return ExplainedDate(calendar.subtract_working_days(counted_from, n), rule, counted_from, n)


@lru_cache(maxsize=_SHARED_DATES)
def _last_working_day(calendar: WorkingDayCalendar, due: date) -> ExplainedDate:
    return ExplainedDate(calendar.last_working_day_on_or_before(due), "last_working_day", due)


@lru_cache(maxsize=_SHARED_DATES)
def _midway(previous_held_on: date, due: date) -> ExplainedDate:
    half = timedelta(days=(due - previous_held_on).days // 2)
    return ExplainedDate(previous_held_on + half, "midway", previous_held_on)


def _last_review_day(period: PeriodOfCare, rules: ScheduleRules) -> date | None:
    """The last day a review can be held in the period (None while it lasts)."""
    if period.end is not None and period.clock is Clock.reg_48:
        # Short-break reviews are often held between breaks, while the series is ongoing
        # (see `_short_break_series_lapsed`), not only during a stay.
        return _series_lapses_after(period.end, rules)
    return period.end


def assess_reviews(
    period: PeriodOfCare, reviews: Iterable[ReviewFacts], rules: ScheduleRules
) -> list[AssessedReview]:
    """Each review held in the period, in order, with the due date it was held against."""
    assessed: list[AssessedReview] = []
    previous: ReviewFacts | None = None
    for count, review in enumerate(_held_in(period, reviews, rules)):
        sequence, due_by = _due_date(period, previous, count, rules)
        assessed.append(AssessedReview(review, sequence, due_by, review.held_on <= due_by.value))
        previous = review
    return assessed


def _held_in(
    period: PeriodOfCare, reviews: Iterable[ReviewFacts], rules: ScheduleRules
) -> list[ReviewFacts]:
    """The reviews held in the period, in the order held."""
    first, last = period.start, _last_review_day(period, rules)
    held = [r for r in reviews if first <= r.held_on and (last is None or r.held_on <= last)]
    held.sort(key=_by_held_on)
    return held


def next_review_due(
    period: PeriodOfCare, assessed: list[AssessedReview], rules: ScheduleRules
) -> tuple[ReviewSequence, ExplainedDate]:
    """The review due after those `assessed` (in order) in the period: the scorecard's chain."""
    previous = assessed[-1].review if assessed else None
    return _due_date(period, previous, len(assessed), rules)


def allocation_due_by(period: PeriodOfCare, rules: ScheduleRules) -> ExplainedDate:
    n = rules.allocation_working_days
    return _working_days_after(rules.calendar, period.start, n, "allocation")


def _short_break_series_lapsed(period: PeriodOfCare, as_at: date, rules: ScheduleRules) -> bool:
    # A series of short breaks is treated as ongoing between breaks until a full review
    # interval (6 months) has passed since the last break ended with no new one.
    return period.end is not None and as_at > _series_lapses_after(period.end, rules)


def _series_lapses_after(last_break_ended: date, rules: ScheduleRules) -> date:
    return add_months(last_break_ended, 6, rules.month_rule)


def _latest_period(episodes: list[EpisodeFacts]) -> PeriodOfCare | None:
    """The last of `periods_of_care(episodes)`, without building the earlier ones."""
    if not episodes:
        return None
    ordered = sorted(episodes, key=_by_start)
    first = len(ordered) - 1
    while first and _continues(ordered[first - 1], ordered[first]):
        first -= 1
    return _period(ordered[first:])


def _current_period(
    latest: PeriodOfCare | None, as_at: date, rules: ScheduleRules
) -> tuple[PeriodOfCare | None, bool]:
    """(the period to report, whether the child is in it on `as_at`)."""
    if latest is None:
        return None, False
    if latest.clock is Clock.reg_48:
        return latest, not _short_break_series_lapsed(latest, as_at, rules)
    return latest, latest.end is None or as_at < latest.end


def compute_schedule(
    episodes: Iterable[EpisodeFacts],
    reviews: Iterable[ReviewFacts],
    rules: ScheduleRules,
    as_at: date,
    scheduled_for: date | None = None,
    *,
    assess: bool = True,
) -> Schedule:
    """The schedule as it stood at the end of `as_at`.

    `scheduled_for` is the date the next review is booked for, if it is; it moves the visit
    deadline, never the due date. With `assess=False` the schedule's `reviews` is empty and
    the rest is the same: the held reviews are counted, not each assessed against its own due
    date (most of the work, and what a worklist never reads).
    """
    latest = _latest_period(_as_known_on(episodes, as_at))
    period, ongoing = _current_period(latest, as_at, rules)
    if period is None:
        return Schedule(as_at, ScheduleStatus.ended, None, (), None, None)
    known = [r for r in reviews if r.held_on <= as_at]
    assessed = tuple(assess_reviews(period, known, rules)) if assess else ()
    allocation = allocation_due_by(period, rules)
    if not ongoing:
        return Schedule(as_at, ScheduleStatus.ended, period, assessed, None, allocation)
    if assess:
        held, previous = len(assessed), assessed[-1].review if assessed else None
    else:
        in_period = _held_in(period, known, rules)
        held, previous = len(in_period), in_period[-1] if in_period else None
    sequence, due_by = _due_date(period, previous, held, rules)
    booked = (
        scheduled_for
        if scheduled_for and (previous is None or scheduled_for > previous.held_on)
        else None
    )
    next_review = _next_review(period, previous, sequence, due_by, booked, rules)
    return Schedule(
        as_at, _status(next_review, as_at, rules), period, assessed, next_review, allocation
    )


def _next_review(
    period: PeriodOfCare,
    previous: ReviewFacts | None,
    sequence: ReviewSequence,
    due_by: ExplainedDate,
    scheduled_for: date | None,
    rules: ScheduleRules,
) -> NextReview:
    calendar, due = rules.calendar, due_by.value
    last_working_day = _last_working_day(calendar, due)
    plan_by = _working_days_before(calendar, due, rules.plan_by_working_days, "plan_by")
    visit_anchor = scheduled_for or due
    visit_rule = "visit_by_scheduled" if scheduled_for else "visit_by_due"
    visit_by = _working_days_before(calendar, visit_anchor, rules.visit_working_days, visit_rule)
    if previous is None:
        visit_from, midway = period.start, None
    else:
        visit_from = shift(previous.held_on, 1)
        midway = _midway(previous.held_on, due)
    return NextReview(
        sequence, due_by, last_working_day, plan_by, visit_from, visit_by, midway, scheduled_for
    )


def _status(next_review: NextReview, as_at: date, rules: ScheduleRules) -> ScheduleStatus:
    due = next_review.due_by.value
    if as_at > due:
        return ScheduleStatus.overdue
    if rules.calendar.working_days_between(as_at, due) <= rules.due_soon_working_days:
        return ScheduleStatus.due_soon
    if as_at >= next_review.plan_by.value:
        return ScheduleStatus.plan_now
    return ScheduleStatus.not_due_yet
