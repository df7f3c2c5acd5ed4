"""Plain value types of the schedule. Frozen and slotted: schedules are computed in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from iro_kit.calendar import WorkingDayCalendar

SHORT_BREAK_STATUSES = frozenset({"V3", "V4"})


class MonthRule(StrEnum):
    """How "3 months" and "6 months" are counted (DOMAIN.md, configurable)."""

    days = "days"  # 91 and 183 days: the service's practice and the sector's data model
    calendar = "calendar"  # calendar months; a missing day becomes the month's last day


class Clock(StrEnum):
    reg_33 = "reg_33"  # looked after children: 20 working days, 3 months, 6 months
    reg_48 = "reg_48"  # agreed series of short breaks (V3/V4): 3 months, then 6 months


class ReviewSequence(StrEnum):
    first = "first"
    second = "second"
    subsequent = "subsequent"


class ScheduleStatus(StrEnum):
    not_due_yet = "not_due_yet"  # before the plan-by date
    plan_now = "plan_now"  # on or after plan-by: the review should be booked
    due_soon = "due_soon"  # within `due_soon_working_days` of due-by
    overdue = "overdue"  # the day after due-by, and not held
    ended = "ended"  # not looked after on the day: no review falls due


@dataclass(frozen=True, slots=True)
class ScheduleRules:
    calendar: WorkingDayCalendar
    month_rule: MonthRule = MonthRule.days
    first_review_working_days: int = 20
    plan_by_working_days: int = 20
    visit_working_days: int = 5
    due_soon_working_days: int = 10
    allocation_working_days: int = 5


@dataclass(frozen=True, slots=True)
class EpisodeFacts:
    """One SSDA903-style episode: start (DECOM), end (DEC), legal status (LS), RNE."""

    start: date
    end: date | None
    legal_status: str
    reason_new_episode: str | None = None  # RNE; "S" starts a new period of care


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """A review as held: dated by the meeting that concluded it."""

    held_on: date
    series_started_on: date | None = None  # first meeting of a review held over a series
    key: Any = None  # the caller's id, carried through to the assessment


@dataclass(frozen=True, slots=True)
class PeriodOfCare:
    start: date
    end: date | None  # None while it lasts (as known on the day asked about)
    episodes: tuple[EpisodeFacts, ...]
    clock: Clock

    def legal_status_on(self, day: date) -> str | None:
        for episode in reversed(self.episodes):
            if episode.start <= day and (episode.end is None or day < episode.end):
                return episode.legal_status
        return None

    @property
    def legal_status(self) -> str:
        """The legal status of the period's latest episode."""
        return self.episodes[-1].legal_status


@dataclass(frozen=True, slots=True)
class AssessedReview:
    review: ReviewFacts
    sequence: ReviewSequence
    due_by: ExplainedDate
    in_timescale: bool

    @property
    def days_late(self) -> int:
        return max(0, (self.review.held_on - self.due_by.value).days)

    @property
    def late_because_of_series(self) -> bool:
        """Started in time but concluded late: late, reason "series of meetings"."""
        started = self.review.series_started_on
        return not self.in_timescale and started is not None and started <= self.due_by.value


_RULE_TEXT = {
    "reg33_first": "First review: within {n} working days of becoming looked after on {frm} "
    "(reg 33(1)(a)); bank holidays and weekends are not counted.",
    "reg33_second": "Second review: not more than 3 months after the first, held on {frm} "
    "(reg 33(1)(b)); 3 months counted as {months}.",
    "reg33_subsequent": "Subsequent review: not more than 6 months after the previous one, "
    "held on {frm} (reg 33(1)(c)); 6 months counted as {months}.",
    "reg48_first": "First short-break review: within 3 months of the first short break on {frm} "
    "(reg 48); 3 months counted as {months}.",
    "reg48_subsequent": "Subsequent short-break review: not more than 6 months after the previous "
    "one, held on {frm} (reg 48); 6 months counted as {months}.",
    "last_working_day": "The last working day on or before the due date {frm}; the due date "
    "itself is not moved.",
    "plan_by": "Book the review {n} working days before it is due on {frm}.",
    "visit_by_scheduled": "The IRO sees the child at least {n} working days before the review "
    "booked for {frm}.",
    "visit_by_due": "The IRO sees the child at least {n} working days before the due date {frm} "
    "(no review is booked yet).",
    "midway": "Midway review: halfway between the previous review on {frm} and the due date, "
    "rounded down.",
    "allocation": "An IRO should be allocated within {n} working days of the child becoming "
    "looked after on {frm}.",
    "secure_first": "First secure accommodation review: within 1 month of placement on {frm} "
    "(Secure Accommodation Regulations 1991, reg 15).",
    "secure_subsequent": "Subsequent secure accommodation review: not more than 3 months after "
    "the previous one on {frm} (reg 15).",
}


@dataclass(frozen=True, slots=True)
class ExplainedDate:
    """A date with the rule that produced it, so an IRO can check it by hand."""

    value: date
    rule: str
    counted_from: date | None
    amount: int | None = None  # the number of working days, where a rule counts them
    month_rule: MonthRule | None = None

    @property
    def explanation(self) -> str:
        months = {
            MonthRule.days: "91 days for 3 months and 183 days for 6 months",
            MonthRule.calendar: "calendar months (a missing day becomes the month's last day)",
        }.get(self.month_rule, "")  # type: ignore[arg-type]
        return _RULE_TEXT[self.rule].format(
            n=self.amount,
            frm=self.counted_from.isoformat() if self.counted_from else "",
            months=months,
        )


@dataclass(frozen=True, slots=True)
class NextReview:
    sequence: ReviewSequence
    due_by: ExplainedDate
    last_working_day: ExplainedDate
    plan_by: ExplainedDate
    visit_from: date  # a pre-review visit counts from here (after the previous review)
    visit_by: ExplainedDate
    midway_on: ExplainedDate | None  # None before the first review of a period
    scheduled_for: date | None


@dataclass(frozen=True, slots=True)
class Schedule:
    as_at: date
    status: ScheduleStatus
    period: PeriodOfCare | None  # the current period, or the latest one if it has ended
    reviews: tuple[AssessedReview, ...]  # reviews held in that period, assessed
    next_review: NextReview | None
    allocation_due_by: ExplainedDate | None
