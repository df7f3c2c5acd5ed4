"""A synthetic local authority's IRO service, worked out from a seed: pure values, no I/O.

`generate(seed, children, years, end)` returns an `Authority`: the IROs (with FTEs, joiners and
leavers), the children with their periods of care and episodes, legal statuses, allocations,
reviews, visits and plan dates, and the disputes the IROs raised, each with its steps. The same
arguments give the same authority, value for value. The review dates are chosen against the
due dates the services themselves work out (`iro_kit.schedule`), so "held in timescale" here
is what reviews-api will say; loading is `iro_synthetic.load`, the SSDA903 files
`iro_synthetic.ssda903`.

The proportions (`PROPORTIONS`) are those a real authority shows in its annual report; each is
tested on 5,000 children within its stated tolerance (`tests/test_generator.py`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.schedule import (
    AssessedReview,
    Clock,
    EpisodeFacts,
    MonthRule,
    ReviewFacts,
    ScheduleRules,
    add_months,
    assess_reviews,
    next_review_due,
    periods_of_care,
)
from iro_kit.schedule.model import PeriodOfCare

# What a real authority's annual report shows, and what each test allows around it.
PROPORTIONS = {
    # share of reviews held in timescale (of reviews held)
    "reviews_in_timescale": (0.93, 0.03),
    # share of late reviews (not held over a series) whose reason is a calculation error
    "late_calculation_error": (0.35, 0.08),
    # share of children looked after on the end day under section 20 (V2): a fifth to a third
    "section_20": (0.24, 0.05),
    # share of reviews with a pre-review IRO visit
    "pre_review_visit": (0.85, 0.04),
    # share of second and later reviews with a midway review before them
    "midway": (0.80, 0.05),
    # share of children whose care ended who came back into care later
    "returned_to_care": (0.05, 0.025),
    # share of reviews (of children 4 and over) whose views came by MOMO or Viewpoint
    "views_by_tools": (0.17, 0.05),
}

FIRST_NAMES = [
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Mia",
    "Arthur",
    "Ivy",
    "Muhammad",
    "Freya",
    "Leo",
    "Lily",
    "Harry",
    "Evie",
    "Oscar",
    "Ella",
    "Archie",
    "Grace",
    "Jack",
    "Sophie",
    "Henry",
    "Zara",
    "Charlie",
    "Ruby",
    "Theo",
    "Aisha",
    "Jacob",
    "Poppy",
    "Alfie",
    "Maya",
    "Finley",
    "Layla",
    "Reuben",
    "Amira",
    "Kai",
    "Nia",
    "Tyler",
    "Esme",
    "Ethan",
    "Hana",
    "Logan",
    "Chloe",
    "Mason",
    "Daisy",
    "Kian",
]
FAMILY_NAMES = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Richards",
    "Khan",
    "Marshall",
    "Anderson",
    "Simpson",
    "Ellis",
    "Adams",
    "Singh",
    "Begum",
    "Wilkinson",
    "Foster",
    "Chapman",
    "Powell",
    "Webb",
    "Rogers",
    "Gray",
]
IRO_NAMES = (
    "Alex Morgan", "Priya Shah", "Tom Bradley", "Janet Okafor", "Sian Price", "Mark Ellis",
    "Ruth Adeyemi", "Claire Hewitt", "David Cho", "Fatima Rahman", "Gareth Lloyd", "Helen Ward",
    "Imran Malik", "Julie Nash", "Kevin Doyle", "Linda Osei", "Martin Fox", "Nadia Petrova",
    "Owen Hughes", "Paula Greene", "Rachel Stone", "Sunil Mehta", "Tracey Bell", "Usha Nair",
)  # fmt: skip

LATE_REASONS = (  # (reason, weight): the annual report's mix, calculation error the largest
    ("calculation_error", 35),
    ("late_notification", 20),
    ("non_attendance_social_worker", 14),
    ("missing_report", 11),
    ("non_attendance_significant_person", 10),
    ("other", 6),
    (None, 4),  # not recorded yet: on the late-reviews-without-reason worklist
)
THEMES = (
    ("care_planning", 30), ("drift_and_delay", 22), ("permanency", 12), ("placement", 12),
    ("contact", 10), ("education_pep", 8), ("health", 6), ("legal_status", 5),
    ("pathway_planning", 5), ("quality_of_reports_assessments", 8),
    ("timeliness_of_meetings", 6), ("other", 3),
)  # fmt: skip
OUTCOMES = (
    ("care_plan_improved", 45), ("more_timely_decision", 20), ("contact_changed", 10),
    ("placement_changed", 10), ("legal_status_changed", 5), ("other", 10),
)  # fmt: skip
DISPUTES_PER_100_A_YEAR = 15
CASELOAD_PER_FTE = 55  # the middle of what a service aims for (handbook 50-70)
SHORT_BREAK = frozenset({"V3", "V4"})
T = TypeVar("T")


def _weighted(rng: random.Random, options: Sequence[tuple[T, int]]) -> T:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


@dataclass
class Episode:
    external_id: str
    start: date
    end: date | None
    rne: str
    legal_status: str
    placement: str
    reason_ended: str | None

    def facts(self) -> EpisodeFacts:
        return EpisodeFacts(self.start, self.end, self.legal_status, self.rne)


@dataclass
class Review:
    held_on: date
    participation_code: str
    views_method: str
    in_timescale: bool
    due_by: date
    late_reason: str | None = None
    late_reason_text: str | None = None
    series_started_on: date | None = None


@dataclass
class Visit:
    kind: str  # pre_review or midway
    visited_on: date
    iro: int  # index into Authority.iros


@dataclass
class Allocation:
    iro: int
    start_on: date
    reason: str | None = None


@dataclass
class Child:
    external_id: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex: str  # male / female
    episodes: list[Episode] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    plan_dates: list[tuple[str, date]] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)

    def periods(self) -> list[PeriodOfCare]:
        return periods_of_care(e.facts() for e in self.episodes)

    def looked_after_on(self, day: date) -> Episode | None:
        for episode in self.episodes:
            if episode.start <= day and (episode.end is None or day <= episode.end):
                return episode
        return None


@dataclass
class Iro:
    name: str
    email: str
    fte: float
    start_on: date
    end_on: date | None


@dataclass
class DisputeStep:
    action: str  # respond, escalate, resolve, withdraw, refer_to_cafcass
    on: date
    body: dict[str, object]


@dataclass
class Dispute:
    child: int  # index into Authority.children
    iro: int
    raised_on: date
    themes: list[str]
    issue: str
    outcome_sought: str
    steps: list[DisputeStep]


@dataclass
class Authority:
    seed: int
    end: date
    start: date
    iros: list[Iro]
    children: list[Child]
    disputes: list[Dispute]

    def looked_after_on(self, day: date) -> list[Child]:
        return [c for c in self.children if c.looked_after_on(day) is not None]


@dataclass(frozen=True)
class _Path:
    """A route through care: legal statuses with the days each lasts, and how it ends."""

    statuses: tuple[str, ...]
    weight: int
    ages: tuple[int, int]  # age at entry, years
    days: tuple[int, int]  # how long the period lasts, days (capped at 18)
    ends: tuple[str, ...]  # REC codes it may end with


PATHS = (
    _Path(("C1", "C2"), 24, (0, 15), (400, 3650), ("E4A", "E41", "E45")),
    _Path(("C1", "C2"), 7, (0, 0), (400, 3650), ("E4A", "E41", "E45")),  # babies: a fifth of starts
    _Path(("C2",), 8, (2, 15), (700, 4000), ("E4A", "E45")),
    _Path(("L2", "C1", "C2"), 5, (0, 12), (500, 3650), ("E4A", "E45")),
    _Path(("C1", "E1"), 9, (0, 3), (400, 900), ("E11",)),
    _Path(("V2",), 28, (0, 17), (30, 1200), ("E4A", "E13")),
    _Path(("V2",), 13, (14, 17), (300, 1500), ("E4A", "E13")),  # e.g. unaccompanied, to 18
    _Path(("L1", "V2"), 5, (5, 17), (20, 400), ("E4A",)),
    _Path(("V2", "C1", "C2"), 7, (0, 14), (500, 3000), ("E4A", "E45")),
    _Path(("J1",), 2, (12, 17), (15, 120), ("E4A",)),  # remanded to the authority
)
SHORT_STATUS_DAYS = {"L1": 3, "L2": 21}  # the most days each may last (DfE rules 361, 362)
INTERIM_DAYS = (120, 420)  # how long an interim care order (C1) lasts before the final order
FIRST_STATUS_SHARE = {"V2": 0.15}  # the share of the period a first status lasts


FOSTER = frozenset({"U1", "U2", "U3", "U4", "U5", "U6"})


def _reason_ended(rng: random.Random, path: _Path, final: Episode, at_18: bool) -> str:
    """REC for the period's last episode, consistent with its status, place and age."""
    if at_18:
        return "E17" if final.placement in FOSTER else "E8"  # staying put, or care ended
    if final.legal_status == "E1":
        return "E11"  # adopted
    reason = rng.choice([r for r in path.ends if r != "E11"] or ["E4A"])
    if reason == "E45" and final.placement not in FOSTER:
        return "E41"  # a child arrangements order instead of a special guardianship order
    return reason


class _Builder:
    def __init__(self, seed: int, children: int, years: int, end: date) -> None:
        self.rng = random.Random(seed)
        self.seed, self.count, self.end = seed, children, end
        self.start = add_months(end, -12 * years, MonthRule.calendar) + timedelta(days=1)
        # Children who entered up to three years before the history starts and were still
        # looked after then carry their earlier reviews: the chain of due dates needs them.
        self.earliest = add_months(self.start, -36, MonthRule.calendar)
        self.calendar = WorkingDayCalendar()
        self.rules = ScheduleRules(calendar=self.calendar)
        self.iros: list[Iro] = []

    # -- children and their care -------------------------------------------------------------

    def child(self, n: int) -> Child:
        rng = self.rng
        path = _weighted(rng, [(p, p.weight) for p in PATHS])
        while True:
            entry = self.earliest + timedelta(days=rng.randint(0, (self.end - self.earliest).days))
            age_days = rng.randint(path.ages[0] * 365 + 30, path.ages[1] * 365 + 330)
            born = entry - timedelta(days=age_days)
            episodes = self._period(n, path, entry, born, first=True)
            if episodes[-1].end is None or episodes[-1].end >= self.start:
                break
        sex = "male" if rng.random() < 0.55 else "female"
        child = Child(
            external_id=f"LCS-{200000 + n}",
            given_name=rng.choice(FIRST_NAMES),
            family_name=rng.choice(FAMILY_NAMES),
            date_of_birth=born,
            sex=sex,
            episodes=episodes,
        )
        last = episodes[-1].end
        if last is not None and rng.random() < 0.11:  # back into care after a while
            back = last + timedelta(days=rng.randint(60, 700))
            if back < self.end and back < add_months(born, 17 * 12, MonthRule.calendar):
                second = _weighted(
                    rng, [(p, p.weight) for p in PATHS if p.statuses[0] in ("V2", "C1")]
                )
                child.episodes += self._period(n, second, back, born, first=False)
        if rng.random() < 0.035 and 5 * 365 < (self.end - born).days < 16 * 365:
            child.episodes = self._short_breaks(n, born)  # a short-break child instead
        return child

    def _period(self, n: int, path: _Path, start: date, born: date, first: bool) -> list[Episode]:
        rng = self.rng
        eighteen = add_months(born, 18 * 12, MonthRule.calendar)  # care ends on the birthday
        length = rng.randint(*path.days)
        ends = min(start + timedelta(days=length), eighteen)
        open_ = ends >= self.end
        last_day = self.end if open_ else ends
        bounds = [start]
        for status in path.statuses[:-1]:
            if status in SHORT_STATUS_DAYS:
                step = rng.randint(1, SHORT_STATUS_DAYS[status])
            elif status == "C1":
                step = rng.randint(*INTERIM_DAYS)
            else:
                share = FIRST_STATUS_SHARE.get(status, 0.4)
                step = max(2, int((last_day - bounds[-1]).days * share * rng.uniform(0.5, 1.5)))
            bounds.append(bounds[-1] + timedelta(days=step))
        episodes: list[Episode] = []
        placement = self._placement(path.statuses[0], start, born)
        for k, status in enumerate(path.statuses):
            begins = bounds[k]
            if begins >= last_day and k:
                break
            finish = bounds[k + 1] if k + 1 < len(path.statuses) else None
            if finish is not None and finish >= last_day:
                finish = None
            if k and status != "E1" and rng.random() < 0.25:
                placement = self._placement(status, begins, born)
                rne = "T"
            else:
                rne = "L" if k else "S"
            if status == "E1":  # placed for adoption with the foster carers: both change
                placement, rne = "A5", "T"
            episodes.append(Episode("", begins, finish, rne, status, placement, "X1"))
        # A placement move in a long last episode (RNE P), sometimes.
        tail = episodes[-1]
        if (last_day - tail.start).days > 400 and tail.legal_status != "E1" and rng.random() < 0.4:
            moved = tail.start + timedelta(days=rng.randint(100, (last_day - tail.start).days - 50))
            episodes.append(
                Episode(
                    "",
                    moved,
                    None,
                    "P",
                    tail.legal_status,
                    self._placement(tail.legal_status, moved, born),
                    "X1",
                )
            )
            tail.end = moved
        final = episodes[-1]
        if open_:
            final.end, final.reason_ended = None, None
        else:
            final.end = last_day
            final.reason_ended = _reason_ended(rng, path, final, last_day == eighteen)
        for k, episode in enumerate(episodes):
            episode.external_id = f"EP-{n}-{start:%Y%m%d}-{k}"
            if not first and k == 0:
                episode.rne = "S"
        return episodes

    def _placement(self, status: str, day: date, born: date) -> str:
        rng = self.rng
        age = (day - born).days // 365
        if status in ("J1", "J2", "J3"):
            return "K2"
        if status == "C2" and rng.random() < 0.06:
            return "R1"  # placed with parents
        if age >= 12 and rng.random() < 0.25:
            return "K2"  # a children's home
        return rng.choice(("U1", "U3", "U4", "U4", "U6", "U6"))

    def _short_breaks(self, n: int, born: date) -> list[Episode]:
        """An agreed series of short breaks (V4): 1-3 nights every 3-6 weeks for 1-3 years."""
        rng = self.rng
        day = self.start + timedelta(days=rng.randint(0, (self.end - self.start).days - 60))
        stop = min(day + timedelta(days=rng.randint(365, 1100)), self.end)
        episodes = []
        while day < stop:
            nights = rng.randint(1, 3)
            leaves = day + timedelta(days=nights)
            if leaves >= self.end:
                break
            episodes.append(Episode(f"EP-{n}-{day:%Y%m%d}-sb", day, leaves, "S", "V4", "U6", "E13"))
            day = leaves + timedelta(days=rng.randint(21, 42))
        return episodes or [Episode(f"EP-{n}-sb", stop - timedelta(days=3), None, "S", "V4",
                                    "U6", None)]  # fmt: skip

    # -- reviews, visits and plan dates ------------------------------------------------------

    def records(self, child: Child) -> None:
        for period in child.periods():
            last = min(period.end or self.end, self.end)
            self._reviews(child, period, last)
            if period.clock is Clock.reg_33:
                self._plans(child, period.start, last)

    def _reviews(self, child: Child, period: PeriodOfCare, last: date) -> None:
        rng, rules = self.rng, self.rules
        assessed: list[AssessedReview] = []
        previous: Review | None = None
        while True:
            _, due = next_review_due(period, assessed, rules)
            due_by = due.value
            roll = rng.random()
            series = None
            if roll < 0.94:  # in timescale: booked ahead, held up to a fortnight early
                floor = previous.held_on + timedelta(days=28) if previous else period.start
                held = max(floor, due_by - timedelta(days=rng.randint(0, 14)))
                held = min(held, due_by)
            elif roll < 0.95:  # a series of meetings that concluded late
                series = due_by - timedelta(days=rng.randint(1, 10))
                held = due_by + timedelta(days=rng.randint(3, 25))
            else:
                held = due_by + timedelta(days=rng.randint(1, 45))
            if held > last or held < period.start:
                if period.end is None or period.end >= self.end:  # still looked after today
                    self._visits_ahead(child, period, previous, due_by)
                return
            facts = [*(a.review for a in assessed), ReviewFacts(held, series)]
            judged = assess_reviews(period, facts, rules)[-1]
            review = Review(
                held, *self._voice(child, held), judged.in_timescale, judged.due_by.value
            )
            review.series_started_on = series
            if not judged.in_timescale:
                if series is not None:
                    review.late_reason = "series_of_meetings"
                else:
                    review.late_reason = _weighted(rng, LATE_REASONS)
                    if review.late_reason == "other":
                        review.late_reason_text = "The review was moved for the child's exams."
            child.reviews.append(review)
            self._visits(child, period, previous, review)
            assessed.append(judged)
            previous = review

    def _voice(self, child: Child, held: date) -> tuple[str, str]:
        rng = self.rng
        if held < add_months(child.date_of_birth, 48, MonthRule.calendar):
            return "PN0", rng.choice(("non_verbal", "in_person", "not_conveyed"))
        code = rng.choices(
            ("PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7"), weights=(45, 8, 7, 12, 14, 9, 5)
        )[0]
        method = {
            "PN1": rng.choices(("in_person", "momo", "viewpoint"), weights=(80, 12, 8))[0],
            "PN2": "advocate",
            "PN3": "non_verbal",
            "PN4": "advocate",
            "PN5": rng.choices(("momo", "viewpoint", "written"), weights=(45, 30, 25))[0],
            "PN6": "not_conveyed",
            "PN7": "other",
        }[code]
        return code, method

    def _visits(
        self, child: Child, period: PeriodOfCare, previous: Review | None, review: Review
    ) -> None:
        rng, calendar = self.rng, self.calendar
        since = previous.held_on + timedelta(days=1) if previous else period.start
        iro = self._iro_on(child, since)
        if rng.random() < 0.85:
            latest = calendar.subtract_working_days(review.held_on, 5)
            if rng.random() < 0.1:  # too close to the review to count
                latest = review.held_on - timedelta(days=rng.randint(0, 3))
            earliest = max(since, latest - timedelta(days=20))
            if earliest <= latest:
                day = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
                child.visits.append(Visit("pre_review", day, self._iro_on(child, day)))
        if previous is not None and rng.random() < 0.8:
            mid = previous.held_on + (review.due_by - previous.held_on) / 2
            day = min(mid + timedelta(days=rng.randint(-10, 5)), review.held_on - timedelta(1))
            if day > previous.held_on:
                child.visits.append(Visit("midway", day, iro))

    def _visits_ahead(
        self, child: Child, period: PeriodOfCare, previous: Review | None, due_by: date
    ) -> None:
        """Before the review still to come: the midway review once its day has passed, and
        the pre-review visit once its window has opened, for most children."""
        rng, end = self.rng, self.end
        if previous is not None and rng.random() < 0.8:
            mid = previous.held_on + (due_by - previous.held_on) / 2
            day = min(mid + timedelta(days=rng.randint(-10, 5)), end)
            if mid <= end and day > previous.held_on:
                child.visits.append(Visit("midway", day, self._iro_on(child, day)))
        since = previous.held_on + timedelta(days=1) if previous else period.start
        latest = min(self.calendar.subtract_working_days(due_by, 5), end)
        earliest = max(since, latest - timedelta(days=20))
        if earliest <= latest and rng.random() < 0.85:
            day = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
            child.visits.append(Visit("pre_review", day, self._iro_on(child, day)))

    def _plans(self, child: Child, start: date, last: date) -> None:
        rng = self.rng
        born = child.date_of_birth
        lapses = rng.random() < 0.15  # some children's plans fall behind
        kinds = [("care_plan_updated", 120, 175), ("health_assessment_completed", 150, 340)]
        school_from = date(born.year + 5 + (born.month >= 9), 9, 1)
        kinds.append(("pep_reviewed", 90, 160))
        for kind, low, high in kinds:
            day = start + timedelta(days=rng.randint(3, 25))
            if kind == "pep_reviewed":
                day = max(day, school_from)
            while day <= last:
                if kind == "pep_reviewed" and day >= date(school_from.year + 11, 7, 31):
                    break
                child.plan_dates.append((kind, day))
                gap = rng.randint(low, high)
                if kind == "health_assessment_completed" and day < born + timedelta(5 * 365):
                    gap = rng.randint(120, 175)
                day += timedelta(days=gap + (rng.randint(60, 200) if lapses else 0))
        pathway = max(start, add_months(born, 16 * 12 + 3, MonthRule.calendar))
        while pathway <= last:
            child.plan_dates.append(("pathway_plan_updated", pathway))
            pathway += timedelta(days=rng.randint(110, 175) + (90 if lapses else 0))
        child.plan_dates.sort(key=lambda item: (item[1], item[0]))

    # -- IROs and allocations ----------------------------------------------------------------

    def staff(self, children: list[Child]) -> None:
        """IROs in post from the start, joiners and leavers, sized to the caseload."""
        rng = self.rng
        needed = max(len([c for c in children if c.looked_after_on(self.end)]), 1)
        fte_wanted = needed / CASELOAD_PER_FTE
        day = self.earliest
        while sum(i.fte for i in self.iros if i.end_on is None) < fte_wanted:
            self._hire(day)
        # Each year about one IRO in seven leaves; the replacement starts up to a month before,
        # so someone is always in post to take the leaver's children.
        year = self.start
        while year < self.end:
            for iro in list(self.iros):
                if iro.end_on is None and iro.start_on < year and rng.random() < 0.14:
                    leaves = year + timedelta(days=rng.randint(30, 330))
                    if leaves < self.end - timedelta(days=30):
                        iro.end_on = leaves
                        self._hire(leaves - timedelta(days=rng.randint(0, 30)), like=iro.fte)
            year = add_months(year, 12, MonthRule.calendar)

    def _hire(self, day: date, like: float | None = None) -> None:
        rng, n = self.rng, len(self.iros)
        fte = like or rng.choice((1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.5))
        base = IRO_NAMES[n % len(IRO_NAMES)]
        name = base if n < len(IRO_NAMES) else f"{base} {n // len(IRO_NAMES) + 1}"
        email = f"{name.lower().replace(' ', '.')}@iro.demo.example"
        self.iros.append(Iro(name, email, fte, day, None))

    def _in_post(self, day: date) -> list[int]:
        return [
            k
            for k, iro in enumerate(self.iros)
            if iro.start_on <= day and (iro.end_on is None or day <= iro.end_on)
        ]

    def allocate(self, children: list[Child]) -> None:
        """Every period gets an IRO within a few days; a leaver's children move the day after
        the leaver's last day, each to the IRO in post with the most room."""
        events: list[tuple[date, int, int]] = []  # (day, kind 0 start / 1 leaver, index)
        for c, child in enumerate(children):
            for period in child.periods():
                events.append((period.start + timedelta(days=self.rng.randint(0, 4)), 0, c))
        for k, iro in enumerate(self.iros):
            if iro.end_on is not None:
                events.append((iro.end_on + timedelta(days=1), 1, k))
        events.sort()
        holding: dict[int, set[int]] = {k: set() for k in range(len(self.iros))}
        for day, kind, index in events:
            if kind == 1:
                moving = sorted(holding[index])
                holding[index] = set()
                for c in moving:
                    self._give(children, c, day, holding, "IRO leaving the service")
                continue
            child = children[index]
            current = child.allocations[-1].iro if child.allocations else None
            if current is not None and self.iros[current].end_on is None:
                continue  # back in care with the same IRO
            self._give(children, index, day, holding, None)

    def _give(
        self,
        children: list[Child],
        c: int,
        day: date,
        holding: dict[int, set[int]],
        reason: str | None,
    ) -> None:
        child = children[c]
        for held in holding.values():
            held.discard(c)
        in_post = self._in_post(day)
        looked_after = {
            k: sum(1 for o in holding[k] if children[o].looked_after_on(day)) for k in in_post
        }
        best = max(in_post, key=lambda k: (70 * self.iros[k].fte - looked_after[k], -k))
        if child.allocations and child.allocations[-1].iro == best:
            holding[best].add(c)
            return
        child.allocations.append(Allocation(best, day, reason))
        holding[best].add(c)

    def _iro_on(self, child: Child, day: date) -> int:
        current = 0
        for allocation in child.allocations:
            if allocation.start_on <= day:
                current = allocation.iro
        return current

    # -- disputes ------------------------------------------------------------------------------

    def disputes(self, children: list[Child]) -> list[Dispute]:
        rng, calendar = self.rng, self.calendar
        disputes: list[Dispute] = []
        month = self.start
        while month < self.end - timedelta(days=10):
            following = add_months(month, 1, MonthRule.calendar)
            in_care = [
                c
                for c, child in enumerate(children)
                if (e := child.looked_after_on(month)) and e.legal_status not in SHORT_BREAK
            ]
            expected = len(in_care) * DISPUTES_PER_100_A_YEAR / 100 / 12
            count = int(expected) + (rng.random() < expected - int(expected))
            for c in rng.sample(in_care, min(count, len(in_care))):
                raised = month + timedelta(days=rng.randint(0, 27))
                if raised >= self.end or not children[c].looked_after_on(raised):
                    continue
                disputes.append(self._dispute(children[c], c, raised, calendar))
            month = following
        return disputes

    def _dispute(self, child: Child, c: int, raised: date, calendar: WorkingDayCalendar) -> Dispute:
        rng = self.rng
        themes = sorted({_weighted(rng, THEMES) for _ in range(rng.choice((1, 1, 1, 2)))})
        iro = self._iro_on(child, raised)
        dispute = Dispute(
            c,
            iro,
            raised,
            themes,
            f"The plan for {child.given_name} has drifted: {themes[0].replace('_', ' ')}.",
            "A decision and a date for it, recorded on the child's file.",
            [],
        )
        day, stage = raised, 1
        while True:
            day = calendar.add_working_days(day, rng.randint(1, 6))
            if day >= self.end:
                return dispute  # still open today
            roll = rng.random()
            if roll < 0.55 or (stage == 4 and roll < 0.85):
                dispute.steps.append(
                    DisputeStep(
                        "respond",
                        day,
                        {
                            "responder": {"name": "Team manager", "role": "Team manager"},
                            "response": "Agreed: the plan will be updated.",
                        },
                    )
                )
                day = calendar.add_working_days(day, rng.randint(0, 3))
                if day >= self.end:
                    return dispute
                outcomes = sorted({_weighted(rng, OUTCOMES) for _ in range(rng.randint(1, 2))})
                dispute.steps.append(
                    DisputeStep(
                        "resolve", day, {"outcomes": outcomes, "summary": "Resolved as agreed."}
                    )
                )
                return dispute
            if roll < 0.60:
                dispute.steps.append(
                    DisputeStep("withdraw", day, {"reason": "The plan changed for other reasons."})
                )
                return dispute
            if stage == 4:
                dispute.steps.append(
                    DisputeStep(
                        "refer_to_cafcass", day, {"reason": "No resolution within the authority."}
                    )
                )
                return dispute
            stage += 1
            dispute.steps.append(
                DisputeStep("escalate", day, {"reason": "No response within the stage's time."})
            )

    def build(self) -> Authority:
        children = [self.child(n) for n in range(self.count)]
        self.staff(children)
        self.allocate(children)
        for child in children:
            self.records(child)
        disputes = self.disputes(children)
        return Authority(self.seed, self.end, self.start, self.iros, children, disputes)


def generate(seed: int, children: int, years: int = 5, end: date | None = None) -> Authority:
    """The authority for `seed`: `children` children looked after at some time in the `years`
    years up to `end` (default today), the IROs for them and their disputes."""
    return _Builder(seed, children, years, end or date.today()).build()
