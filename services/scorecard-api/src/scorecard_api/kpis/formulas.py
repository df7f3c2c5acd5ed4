"""The KPIs of KPIS.md as pure functions over plain values: no database, no web.

Each takes the facts of the children (or reviews) it counts, as at a day D over a window
[S, D], and returns the numerator, the denominator and one outcome per member of the
denominator: met or not, the reason in words and the dates that decided it, so a manager can
act on each failing case from the list alone. The loader (`scorecard_api.kpis.facts`) fetches
no more than these need; the rules about which dates count are all here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import MonthRule, add_months

PARTICIPATED = frozenset({"PN1", "PN2", "PN3", "PN4", "PN5", "PN6"})
CODED_4_AND_OVER = PARTICIPATED | {"PN7"}
SHORT_BREAKS = frozenset({"V3", "V4"})


@dataclass(frozen=True, slots=True)
class Window:
    start: date  # S
    end: date  # D, the as-at day

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def months_before(day: date, months: int) -> date:
    """`months` calendar months before `day` (a missing day becomes the month's last)."""
    return add_months(day, -months, MonthRule.calendar)


def default_window(as_at: date) -> Window:
    """The 12 months ending on D: S = D - 12 calendar months + 1 day."""
    return Window(months_before(as_at, 12) + timedelta(days=1), as_at)


def within_last_months(day: date | None, months: int, as_at: date) -> bool:
    """On or after D - N calendar months, and on or before D."""
    return day is not None and months_before(as_at, months) <= day <= as_at


def age_on(date_of_birth: date, day: date) -> int:
    years = day.year - date_of_birth.year
    return years - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def school_year_start(as_at: date) -> date:
    """The 1 September on or before D."""
    this_year = date(as_at.year, 9, 1)
    return this_year if as_at >= this_year else date(as_at.year - 1, 9, 1)


@dataclass(frozen=True, slots=True)
class Outcome:
    child_id: uuid.UUID
    met: bool
    reason: str
    dates: Mapping[str, date | None] = field(default_factory=dict)
    review_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Figure:
    numerator: int
    denominator: int | None  # None for a count (pre_review_visits)
    outcomes: tuple[Outcome, ...]

    @property
    def value(self) -> float | None:
        """Numerator / denominator x 100, unrounded; None when the denominator is 0."""
        if self.denominator is None:
            return float(self.numerator)
        return self.numerator / self.denominator * 100 if self.denominator else None


def _figure(outcomes: Iterable[Outcome]) -> Figure:
    listed = tuple(outcomes)
    return Figure(sum(o.met for o in listed), len(listed), listed)


def _d(day: date | None) -> str:
    return day.isoformat() if day else "none"


# --- reviews ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueFact:
    """A review that fell due: its due date, and when it was held (None if not yet)."""

    due_by: date
    held_on: date | None
    child_id: uuid.UUID | None = None
    review_id: uuid.UUID | None = None
    status_on_due: str | None = None  # legal status on the due date; None: not looked after


def _review_outcome(
    child_id: uuid.UUID, due: DueFact, as_at: date, calendar: WorkingDayCalendar
) -> Outcome:
    held = due.held_on if due.held_on is not None and due.held_on <= as_at else None
    dates = {"due_by": due.due_by, "held_on": held}
    if held is not None and held <= due.due_by:
        reason = f"review due {_d(due.due_by)}, held {_d(held)}, in timescale"
        return Outcome(child_id, True, reason, dates, due.review_id)
    if held is not None:
        late = calendar.working_days_between(due.due_by, held)
        reason = f"review due {_d(due.due_by)}, held {_d(held)}, {late} working days late"
    else:
        late = calendar.working_days_between(due.due_by, as_at)
        reason = f"review due {_d(due.due_by)}, not held by {_d(as_at)} ({late} working days over)"
    return Outcome(child_id, False, reason, dates, due.review_id)


def reviews_in_timescale(
    children: Mapping[uuid.UUID, Iterable[DueFact]],
    window: Window,
    calendar: WorkingDayCalendar,
) -> Figure:
    """Children in P(D) (with the dues of their current period of care) with a review due in
    [S, D]; met when every review due in [S, D] was held on or before its due date."""
    outcomes = []
    for child_id, dues in children.items():
        due_in_window = sorted((d for d in dues if d.due_by in window), key=lambda d: d.due_by)
        if not due_in_window:
            continue
        assessed = [_review_outcome(child_id, d, window.end, calendar) for d in due_in_window]
        failed = [o for o in assessed if not o.met]
        if failed:
            outcomes.append(failed[0])
        else:
            count = len(assessed)
            last = assessed[-1]
            reason = f"all {count} reviews due in the window held in timescale; " + last.reason
            outcomes.append(Outcome(child_id, True, reason, last.dates, last.review_id))
    return _figure(outcomes)


def reviews_in_timescale_by_review(
    dues: Iterable[DueFact], window: Window, calendar: WorkingDayCalendar
) -> Figure:
    """Every review due in [S, D] of a child looked after (not V3/V4) on its due date."""
    counted = (
        d
        for d in dues
        if d.due_by in window
        and d.status_on_due is not None
        and d.status_on_due not in SHORT_BREAKS
    )
    return _figure(
        _review_outcome(d.child_id, d, window.end, calendar)  # type: ignore[arg-type]
        for d in sorted(counted, key=lambda d: d.due_by)
    )


@dataclass(frozen=True, slots=True)
class HeldReview:
    held_on: date
    participation_code: str | None
    review_id: uuid.UUID | None = None


def participation(latest: Mapping[uuid.UUID, HeldReview | None], as_at: date) -> Figure:
    """Children in P(D) whose most recent review (held on or before D in the current period)
    has a code PN1-PN7; met when it is PN1-PN6."""
    outcomes = []
    for child_id, held in latest.items():
        if held is None or held.held_on > as_at or held.participation_code not in CODED_4_AND_OVER:
            continue
        code = held.participation_code
        met = code in PARTICIPATED
        verb = "participated" if met else "did not participate"
        reason = f"most recent review held {_d(held.held_on)}: {code}, {verb}"
        outcomes.append(Outcome(child_id, met, reason, {"held_on": held.held_on}, held.review_id))
    return _figure(outcomes)


# --- plans and assessments ----------------------------------------------------------------


def _plan_outcome(
    child_id: uuid.UUID, what: str, latest: date | None, months: int, as_at: date
) -> Outcome:
    dates = {"latest": latest, "up_to_date_from": months_before(as_at, months)}
    if latest is None:
        return Outcome(child_id, False, f"no {what} dated on or before {_d(as_at)}", dates)
    met = within_last_months(latest, months, as_at)
    state = "up to date" if met else "out of date"
    reason = f"latest {what} {_d(latest)}: {state} (within {months} months of {_d(as_at)})"
    return Outcome(child_id, met, reason, dates)


def care_plan_up_to_date(latest: Mapping[uuid.UUID, date | None], as_at: date) -> Figure:
    return _figure(_plan_outcome(c, "care plan", d, 6, as_at) for c, d in latest.items())


@dataclass(frozen=True, slots=True)
class AgedPlan:
    date_of_birth: date
    latest: date | None  # the latest plan of the kind dated on or before D


def pep_up_to_date(children: Mapping[uuid.UUID, AgedPlan], as_at: date) -> Figure:
    """Children in P(D) aged 5 to 15 on the 1 September on or before D (years 1 to 11)."""
    september = school_year_start(as_at)
    return _figure(
        _plan_outcome(c, "PEP", p.latest, 6, as_at)
        for c, p in children.items()
        if 5 <= age_on(p.date_of_birth, september) <= 15
    )


def pathway_plan_up_to_date(children: Mapping[uuid.UUID, AgedPlan], as_at: date) -> Figure:
    """Children in P(D) aged 16 years 3 months or more on D."""
    return _figure(
        _plan_outcome(c, "pathway plan", p.latest, 6, as_at)
        for c, p in children.items()
        if add_months(p.date_of_birth, 16 * 12 + 3, MonthRule.calendar) <= as_at
    )


@dataclass(frozen=True, slots=True)
class HealthFacts:
    date_of_birth: date
    first_review_due: date | None  # of the current period of care
    latest: date | None


def health_assessment_up_to_date(children: Mapping[uuid.UUID, HealthFacts], as_at: date) -> Figure:
    """Children in P(D) whose first review due date is on or before D; within 6 months for
    under 5s on D, 12 months for 5 and over."""
    outcomes = []
    for child_id, facts in children.items():
        if facts.first_review_due is None or facts.first_review_due > as_at:
            continue
        months = 6 if age_on(facts.date_of_birth, as_at) < 5 else 12
        outcomes.append(_plan_outcome(child_id, "health assessment", facts.latest, months, as_at))
    return _figure(outcomes)


def section_20(legal_status: Mapping[uuid.UUID, str]) -> Figure:
    """P(D); met (which is not good: lower is better) when the legal status on D is V2."""
    return _figure(
        Outcome(c, status == "V2", f"legal status on the day: {status}")
        for c, status in legal_status.items()
    )


# --- visits -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Visit:
    child_id: uuid.UUID
    visited_on: date


def pre_review_visits(visits: Iterable[Visit], window: Window) -> Figure:
    """A count: pre-review IRO visits dated in [S, D]."""
    listed = tuple(
        Outcome(v.child_id, True, f"pre-review visit on {_d(v.visited_on)}", {"on": v.visited_on})
        for v in sorted(visits, key=lambda v: v.visited_on)
        if v.visited_on in window
    )
    return Figure(len(listed), None, listed)


@dataclass(frozen=True, slots=True)
class VisitedReview:
    child_id: uuid.UUID
    review_id: uuid.UUID | None
    held_on: date
    after: date  # the previous review's held date, or the period's start for a first review
    first: bool  # the first review of its period: a visit on its start day counts
    visits: tuple[date, ...]  # the child's pre-review visits


def pre_review_visit_in_time(
    reviews: Iterable[VisitedReview], window: Window, calendar: WorkingDayCalendar, lead: int = 5
) -> Figure:
    """Reviews held in [S, D] preceded by a visit after the previous review (on or after the
    period's start for a first review) and at least `lead` working days before."""
    outcomes = []
    for r in sorted(reviews, key=lambda r: r.held_on):
        if r.held_on not in window:
            continue
        latest_visit = calendar.subtract_working_days(r.held_on, lead)
        in_time = [
            v for v in r.visits if (v >= r.after if r.first else v > r.after) and v <= latest_visit
        ]
        dates = {"held_on": r.held_on, "visit_by": latest_visit}
        if in_time:
            visited = max(in_time)
            reason = f"review held {_d(r.held_on)}, visited {_d(visited)} (by {_d(latest_visit)})"
            met_dates = {**dates, "visited_on": visited}
            outcomes.append(Outcome(r.child_id, True, reason, met_dates, r.review_id))
            continue
        since = [v for v in r.visits if v > r.after and v <= r.held_on]
        seen = f"visited {_d(max(since))}, too late" if since else "no visit since the last review"
        reason = f"review held {_d(r.held_on)}: {seen} (needed by {_d(latest_visit)})"
        outcomes.append(Outcome(r.child_id, False, reason, dates, r.review_id))
    return _figure(outcomes)


@dataclass(frozen=True, slots=True)
class MidwayFacts:
    last_held_on: date | None  # the most recent review held on or before D in the period
    next_due_by: date | None  # the review due after it
    midway_visits: tuple[date, ...]


def midpoint(last_held_on: date, next_due_by: date) -> date:
    return last_held_on + timedelta(days=(next_due_by - last_held_on).days // 2)


def midway_reviews(children: Mapping[uuid.UUID, MidwayFacts], as_at: date) -> Figure:
    """Children in P(D) whose midpoint is on or before D; met with a midway review after the
    last review and on or before D."""
    outcomes = []
    for child_id, f in children.items():
        if f.last_held_on is None or f.next_due_by is None:
            continue
        middle = midpoint(f.last_held_on, f.next_due_by)
        if middle > as_at:
            continue
        done = [v for v in f.midway_visits if f.last_held_on < v <= as_at]
        dates = {"last_review": f.last_held_on, "midpoint": middle, "next_due_by": f.next_due_by}
        if done:
            reason = f"midway review {_d(max(done))} (midpoint {_d(middle)})"
        else:
            reason = f"no midway review since the review of {_d(f.last_held_on)} "
            reason += f"(midpoint {_d(middle)})"
        outcomes.append(Outcome(child_id, bool(done), reason, dates))
    return _figure(outcomes)
