"""The scorecard end to end on PostgreSQL, with every part a real process of its own.

reviews-api, drp-api and scorecard-api each serve alone on their own database; the two outbox
relays run as separate processes (`python -m reviews_api relay`, `python -m drp_api relay`).
A small cohort is entered only through reviews-api's and drp-api's routes, the relays deliver
it, and the scorecard, a drill-down and the annual report's tables are checked against figures
worked out by hand below (KPIS.md, DOMAIN.md) for two as-at days a year apart. Then the
scorecard is rebuilt from the producers' republished events and comes back byte for byte.

The hand calculations use England's bank holidays (DOMAIN.md: a working day is not a Saturday,
Sunday or bank holiday; "N working days after D" counts strictly after D):

    2015: Fri 3 Apr Good Friday, Mon 6 Apr Easter Monday, Fri 25 Dec Christmas Day,
          Mon 28 Dec Boxing Day (substitute)
    2016: Fri 1 Jan New Year's Day, Mon 30 May Spring bank holiday

and the default month rule `days`: 3 months = 91 days, 6 months = 183 days, each from the day
the previous review was actually held.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from iro_kit.testing import bearer, postgres_admin_url
from iro_local.topology import (
    SERVICES,
    Topology,
    create_databases,
    drop_databases,
    upgrade_databases,
)

INTEGRATION = bearer("integration", subject="lcs")
MANAGER = bearer("iro_manager", subject="manager-1")
IRO = bearer("iro", subject="iro-1", name="Alex Morgan")
PERFORMANCE = bearer("performance", subject="perf-1")
ADMIN = bearer("admin", subject="ops-1")

D1, D2 = "2016-03-31", "2017-03-31"  # windows [2015-04-01, D1] and [2016-04-01, D2]
TIMEOUT = 30.0
RELAYS = ("reviews_api", "drp_api")


@pytest.fixture
def system(postgres_url: str, tmp_path: Path) -> Iterator[Topology]:
    """reviews-api on `postgres_url`; drp-api and scorecard-api on databases made here. The
    three services serve; the relays start after, and import while the cohort is entered:
    events wait in the outboxes till then."""
    admin_url = postgres_admin_url()
    assert admin_url is not None  # postgres_url has skipped (or failed) otherwise
    made: dict[str, str] = {}
    try:
        made = create_databases(["drp_api", "scorecard_api"], admin_url)
        urls = {"reviews_api": postgres_url, **made}
        upgrade_databases(urls)
        running = Topology.scorecard(tmp_path, urls)
        try:
            for info in SERVICES:
                running.serve(info.module, wait=None)
            for info in SERVICES:
                running.wait_healthy(info.module, "live", timeout=TIMEOUT)
            for module in RELAYS:
                running.relay(module)
            yield running
        finally:
            running.stop_all(timeout=10)
    finally:
        drop_databases(admin_url, made.values())


def _eventually(attempt: Callable[[], Any], done: Callable[[Any], bool], what: str) -> Any:
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = attempt()
        if done(got):
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {TIMEOUT}s: {got}")
        time.sleep(0.1)


class Entry:
    """Enters records through reviews-api's and drp-api's routes, as the users would."""

    def __init__(self, client: httpx.Client, system: Topology) -> None:
        self.client = client
        self.reviews = system.base("reviews_api")
        self.drp = system.base("drp_api")
        self.review_ids: dict[str, str] = {}

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        response = self.client.post(f"{self.reviews}/v1{path}", json=body, headers=headers)
        assert response.status_code == 201, f"{path}: {response.text}"
        return response.json()

    def iro(self, name: str, email: str, fte: float, **dates: str) -> str:
        body = {"name": name, "email": email, "fte": fte, **dates}
        return str(self.post("/iros", body, MANAGER)["id"])

    def child(self, external_id: str, name: str, born: str, sex: str) -> str:
        given, family = name.split()
        body = {
            "external_id": external_id,
            "given_name": given,
            "family_name": family,
            "date_of_birth": born,
            "sex": sex,
        }
        return str(self.post("/children", body, INTEGRATION)["id"])

    def episode(
        self, child: str, start_on: str, legal_status: str, rne: str = "S", **end: str
    ) -> None:
        body = {"start_on": start_on, "reason_new_episode": rne, "legal_status": legal_status}
        self.post(f"/children/{child}/episodes", {**body, **end}, INTEGRATION)

    def allocate(self, child: str, iro: str, start_on: str) -> None:
        self.post(f"/children/{child}/allocations", {"iro_id": iro, "start_on": start_on}, MANAGER)

    def review(
        self, key: str, child: str, held_on: str, code: str, views: str, **late: str
    ) -> None:
        body = {"held_on": held_on, "participation_code": code, "views_method": views, **late}
        self.review_ids[key] = str(self.post(f"/children/{child}/reviews", body, IRO)["id"])

    def visit(self, child: str, kind: str, visited_on: str, iro: str) -> None:
        body = {"kind": kind, "visited_on": visited_on, "iro_id": iro}
        self.post(f"/children/{child}/visits", body, IRO)

    def plan_dates(self, dates: list[tuple[str, str, str]]) -> None:
        items = [
            {"type": "plan_date", "child_external_id": c, "kind": k, "dated_on": d}
            for c, k, d in dates
        ]
        response = self.client.post(
            f"{self.reviews}/v1/integration/batches", json={"items": items}, headers=INTEGRATION
        )
        assert response.status_code == 200, response.text
        assert response.json()["counts"]["created"] == len(items), response.text

    def raise_dispute(self, child: str, external_id: str, name: str, iro: str) -> dict[str, Any]:
        """drp-api knows the child and IRO only once reviews-api's events reach it: retry.
        The request names them by id; the case id and name come from drp-api's copy."""
        body = {
            "child_id": child,
            "category": "lac",
            "iro_id": iro,
            "raised_on": "2016-11-14",
            "themes": ["care_planning"],
            "issue": "The care plan has not been updated since the last review.",
            "outcome_sought": "An updated care plan by the next review.",
            "asked": {"name": "Jo Bloggs", "role": "Team manager"},
        }
        response = _eventually(
            lambda: self.client.post(f"{self.drp}/v1/disputes", json=body, headers=IRO),
            lambda r: r.status_code == 201,
            "drp-api accepting the dispute",
        )
        dispute = dict(response.json())
        assert dispute["child"] == {"id": child, "external_id": external_id, "name": name}
        assert dispute["raised_by"] == {"id": iro, "name": "Alex Morgan"}
        return dispute


@dataclass
class Cohort:
    alex: str
    blake: str
    children: dict[str, str]  # initial -> id
    review_ids: dict[str, str]


def load_cohort(entry: Entry) -> Cohort:
    alex = entry.iro("Alex Morgan", "alex@la.example", 1.0, start_on="2015-01-01")
    # Blake works half time and leaves on 31 Dec 2016: in post on D1, not on D2.
    blake = entry.iro(
        "Blake Jones",
        "blake@la.example",
        0.5,
        start_on="2015-06-01",
        end_on="2016-12-31",
    )

    # A, Amy Hill (9 on 1 Sep 2015, 10 on 1 Sep 2016): care order from Mon 30 Mar 2015.
    #   First review: 20 working days after 30 Mar, skipping Good Friday 3 Apr and Easter
    #   Monday 6 Apr 2015: 31 Mar, 1, 2, 7, 8, 9, 10, 13 ... 29 Apr -> due 2015-04-29.
    #   A1 held 28 Apr (in time). A2 due 28 Apr + 91 d = 2015-07-28, held 21 Jul.
    #   A3 due 21 Jul + 183 d = 2016-01-20, held 19 Jan. A4 due 19 Jan 2016 + 183 d (29 Feb
    #   counts) = 2016-07-20, held 19 Jul. A5 due 19 Jul + 183 d = 2017-01-18, held 17 Jan.
    #   A6 due 17 Jan 2017 + 183 d = 2017-07-19, after D2. Every review of Amy is in time.
    a = entry.child("LCS-A", "Amy Hill", "2006-05-20", "female")
    entry.episode(a, "2015-03-30", "C2")
    entry.allocate(a, alex, "2015-03-31")
    entry.review("A1", a, "2015-04-28", "PN1", "in_person")
    entry.review("A2", a, "2015-07-21", "PN1", "in_person")
    entry.review("A3", a, "2016-01-19", "PN6", "momo")
    entry.review("A4", a, "2016-07-19", "PN1", "viewpoint")
    entry.review("A5", a, "2017-01-17", "PN7", "not_conveyed")
    # Pre-review visits, needed by the review date - 5 working days:
    #   A3 (Tue 19 Jan 2016): 18, 15, 14, 13, 12 -> by 12 Jan; visited 11 Jan: in time.
    #   A4 (Tue 19 Jul 2016): 18, 15, 14, 13, 12 -> by 12 Jul; visited 8 Jul: in time.
    #   A5 (Tue 17 Jan 2017): 16, 13, 12, 11, 10 -> by 10 Jan; visited 12 Jan: too late.
    #   A1 and A2 had no visit.
    entry.visit(a, "pre_review", "2016-01-11", alex)
    entry.visit(a, "pre_review", "2016-07-08", alex)
    entry.visit(a, "pre_review", "2017-01-12", alex)

    # B, Ben Cole (6 on 1 Sep 2015, 7 on 1 Sep 2016): section 20 (V2) from Mon 14 Dec 2015.
    #   First review: 15, 16, 17, 18, 21, 22, 23, 24 Dec (8), not 25 or 28 Dec (Boxing Day
    #   substitute), 29, 30, 31 (11), not 1 Jan, 4 ... 8 Jan (16), 11 ... 14 Jan (20)
    #   -> due 2016-01-14. B1 held Mon 18 Jan: late by 15 and 18 Jan, 2 working days.
    #   B2 due 18 Jan + 91 d = 2016-04-18, held 25 Apr: late, 19-22 and 25 Apr = 5 working days.
    #   B3 due 25 Apr + 183 d = 2016-10-25, held 20 Oct (in time). B4 due 20 Oct + 183 d =
    #   2017-04-21, after D2.
    b = entry.child("LCS-B", "Ben Cole", "2009-02-14", "male")
    entry.episode(b, "2015-12-14", "V2")
    entry.allocate(b, blake, "2015-12-14")
    entry.allocate(b, alex, "2017-01-01")  # Blake leaves: Blake's allocation ends 31 Dec
    entry.review("B1", b, "2016-01-18", "PN3", "viewpoint", late_reason="missing_report")
    entry.review(
        "B2", b, "2016-04-25", "PN1", "in_person", late_reason="non_attendance_social_worker"
    )
    entry.review("B3", b, "2016-10-20", "PN4", "in_person")
    #   B1 (Mon 18 Jan 2016) is the first review: a visit on or after the period's start
    #   counts; needed by 15, 14, 13, 12, 11 -> 11 Jan; visited 14 Dec (the first day): in time.
    #   B2 (Mon 25 Apr 2016): 22, 21, 20, 19, 18 -> by 18 Apr; visited 15 Apr: in time.
    #   B3 had no visit. Midway review 23 Jan 2017 (after B3).
    entry.visit(b, "pre_review", "2015-12-14", blake)
    entry.visit(b, "pre_review", "2016-04-15", blake)
    entry.visit(b, "midway", "2017-01-23", alex)

    # C, Cara Ng (16 on 1 Sep 2015; 16 years 3 months on 1 Jan 2015): interim care order (C1)
    #   from Mon 2 Feb 2015, then a full care order (C2, RNE L: same period) from 3 Aug 2015;
    #   leaves care on 1 Oct 2016, her 18th birthday.
    #   First review: 20 working days after 2 Feb (no holidays) -> 2015-03-02; C1 held 26 Feb.
    #   C2 due 26 Feb + 91 d = 2015-05-28, held that day: in time (on or before).
    #   C3 due 28 May + 183 d = 2015-11-27, held Wed 2 Dec: late, 30 Nov, 1 and 2 Dec = 3 days.
    #   C4 due 2 Dec + 183 d (29 Feb counts) = 2016-06-02, held 1 Jun (in time). The next would
    #   be due 1 Jun + 183 d = 2016-12-01, after the period ended: no review falls due.
    c = entry.child("LCS-C", "Cara Ng", "1998-10-01", "female")
    entry.episode(c, "2015-02-02", "C1", end_on="2015-08-03", reason_ended="X1")
    entry.episode(c, "2015-08-03", "C2", rne="L", end_on="2016-10-01", reason_ended="E8")
    entry.allocate(c, alex, "2015-02-02")
    entry.allocate(c, blake, "2015-06-01")  # Alex's allocation ends 31 May
    entry.review("C1", c, "2015-02-26", "PN1", "in_person")
    entry.review("C2", c, "2015-05-28", "PN2", "advocate")
    entry.review("C3", c, "2015-12-02", "PN7", "not_conveyed", late_reason="late_notification")
    entry.review("C4", c, "2016-06-01", "PN1", "momo")
    #   C2 had no visit. C3 (Wed 2 Dec 2015): 1 Dec, 30, 27, 26, 25 Nov -> by 25 Nov; visited
    #   25 Nov: in time, on the last day. C4 (Wed 1 Jun 2016): 31 May, not 30 May (Spring bank
    #   holiday), 27, 26, 25, 24 May -> by 24 May; visited 25 May: too late (without the bank
    #   holiday it would have been in time). Midway review 1 Mar 2016 (after C3).
    entry.visit(c, "pre_review", "2015-11-25", blake)
    entry.visit(c, "pre_review", "2016-05-25", blake)
    entry.visit(c, "midway", "2016-03-01", blake)

    # D, Dan Roy: an agreed series of short breaks (V3) from 6 Jun 2016, still going. Out of
    #   every looked-after population (DOMAIN.md), but his review counts in Table 1's reviews
    #   held and in the use of tools. Reg 48: first review within 3 months = 91 d -> 2016-09-05;
    #   "DAN" held 1 Sep. The next, due 1 Sep + 183 d = 2017-03-03, is not held by D2; being V3 it
    #   is in no review KPI.
    d = entry.child("LCS-D", "Dan Roy", "2004-07-07", "male")
    entry.episode(d, "2016-06-06", "V3")
    entry.allocate(d, alex, "2016-06-06")
    entry.review("DAN", d, "2016-09-01", "PN1", "momo")

    # E, Eve Park (2 on D2): interim care order from Mon 20 Feb 2017. First review: 20 working
    #   days (no holidays) -> Mon 2017-03-20; not held by D2: 21-24, 27-31 Mar = 9 working days
    #   over. Allocated within 5 working days (27 Feb).
    e = entry.child("LCS-E", "Eve Park", "2014-06-01", "female")
    entry.episode(e, "2017-02-20", "C1")
    entry.allocate(e, alex, "2017-02-27")

    entry.plan_dates(
        [
            ("LCS-A", "care_plan_updated", "2015-09-29"),
            ("LCS-A", "care_plan_updated", "2016-10-03"),
            ("LCS-A", "pep_reviewed", "2016-02-10"),
            ("LCS-A", "pep_reviewed", "2016-11-01"),
            ("LCS-A", "health_assessment_completed", "2015-05-01"),
            ("LCS-B", "care_plan_updated", "2016-01-05"),
            ("LCS-B", "care_plan_updated", "2016-09-29"),
            ("LCS-B", "pep_reviewed", "2015-12-20"),
            ("LCS-B", "health_assessment_completed", "2016-01-10"),
            ("LCS-B", "health_assessment_completed", "2016-12-01"),
            ("LCS-C", "care_plan_updated", "2015-09-30"),
            ("LCS-C", "health_assessment_completed", "2015-03-20"),
            ("LCS-C", "pathway_plan_updated", "2015-10-05"),
            ("LCS-E", "care_plan_updated", "2017-02-21"),
            ("LCS-E", "health_assessment_completed", "2017-02-24"),
        ]
    )
    children = {"A": a, "B": b, "C": c, "D": d, "E": e}
    return Cohort(alex, blake, children, entry.review_ids)


# The scorecard, (numerator, denominator) per KPI, worked out by hand.
#
# P(D1) = {A, B, C}: looked after on 31 Mar 2016, none V3/V4 (D and E not yet in care).
# P(D2) = {A, B, E}: C left care on 1 Oct 2016; D is on short breaks (V3).
# "Within the last 6 months of D" = on or after 2015-09-30 for D1, 2016-09-30 for D2;
# 12 months: on or after 2015-03-31 for D1, 2016-03-31 for D2.
EXPECTED: dict[str, dict[str, tuple[int, int | None]]] = {
    D1: {
        # Dues in [2015-04-01, D1]: A 04-29, 07-28, 01-20 all met; B 01-14 late; C 05-28 met,
        # 11-27 late. Children: only A.
        "reviews_in_timescale": (1, 3),
        # The same six dues, one by one: four met.
        "reviews_in_timescale_by_review": (4, 6),
        # Latest review by D1: A3 PN6 yes, B1 PN3 yes, C3 PN7 no.
        "participation": (2, 3),
        # A 2015-09-29: a day too old; B 2016-01-05; C 2015-09-30, the first day that counts.
        "care_plan_up_to_date": (2, 3),
        # Aged 5-15 on 1 Sep 2015: A (9), B (6); C is 16. A 2016-02-10, B 2015-12-20 both in.
        "pep_up_to_date": (2, 2),
        # B is V2.
        "section_20": (1, 3),
        # Pre-review visits in the window: A 2016-01-11, B 2015-12-14, C 2015-11-25.
        "pre_review_visits": (3, None),
        # Reviews held in the window: A1 no visit, A2 no visit, A3 yes, B1 yes, C2 no visit,
        # C3 yes (see the visit workings above).
        "pre_review_visit_in_time": (3, 6),
        # Midpoint = last review + (next due - last review) // 2:
        #   A: 2016-01-19 + 183 // 2 = 91 d -> 2016-04-19, after D1: not counted.
        #   B: 2016-01-18 + 91 // 2 = 45 d -> 2016-03-03: no midway review, not met.
        #   C: 2015-12-02 + 91 d -> 2016-03-02: midway 2016-03-01, after C3: met.
        "midway_reviews": (1, 2),
        # First review due by D1 for A, B, C. All 5 or over: within 12 months (>= 2015-03-31).
        # A 2015-05-01 yes, B 2016-01-10 yes, C 2015-03-20 no.
        "health_assessment_up_to_date": (2, 3),
        # 16 years 3 months by D1: only C (on 2015-01-01). 2015-10-05 is within 6 months.
        "pathway_plan_up_to_date": (1, 1),
    },
    D2: {
        # Dues in [2016-04-01, D2]: A 07-20, 01-18 met; B 04-18 late, 10-25 met; E 03-20 not
        # held by D2. Children: only A.
        "reviews_in_timescale": (1, 3),
        # Dues of children looked after (not V3/V4) on the due date: A4, A5, B2 (late), B3,
        # C4 (C was in care on 2016-06-02; her next would fall after she left), E's first (not
        # held). D's are V3. Four of six met.
        "reviews_in_timescale_by_review": (4, 6),
        # A5 PN7 no; B3 PN4 yes; E has had no review.
        "participation": (1, 2),
        # A 2016-10-03 yes; B 2016-09-29 a day too old; E 2017-02-21 yes.
        "care_plan_up_to_date": (2, 3),
        # Aged 5-15 on 1 Sep 2016: A (10) 2016-11-01 yes, B (7) 2015-12-20 no; E is 2.
        "pep_up_to_date": (1, 2),
        "section_20": (1, 3),
        # A 2016-07-08 and 2017-01-12, B 2016-04-15, C 2016-05-25 (a count of visits: C's
        # counts though she has left care).
        "pre_review_visits": (4, None),
        # Held in the window, not short breaks: A4 yes, A5 too late, B2 yes, B3 none, C4 too
        # late (the bank holiday). Dan's review (V3) is left out.
        "pre_review_visit_in_time": (2, 5),
        #   A: 2017-01-17 + 91 d -> 2017-04-18, after D2.
        #   B: 2016-10-20 + 183 // 2 = 91 d -> 2017-01-19: midway 2017-01-23: met.
        #   E: no review held yet, so no midpoint.
        "midway_reviews": (1, 1),
        # A (10) 2015-05-01 < 2016-03-31: no; B (8) 2016-12-01 yes; E (2, under 5: 6 months)
        # 2017-02-24 yes; E's first review was due 2017-03-20, on or before D2.
        "health_assessment_up_to_date": (2, 3),
        # Nobody in P(D2) is 16 years 3 months: no value.
        "pathway_plan_up_to_date": (0, 0),
    },
}

# Table 3, late reviews by the financial quarter of the held date:
# D1: C3 held 2015-12-02 (Oct-Dec: 2015/16 Q3, late notification), B1 held 2016-01-18
# (Jan-Mar: 2015/16 Q4, missing report). D2: B2 held 2016-04-25 (2016/17 Q1, social worker).
LATE: dict[str, dict[str, dict[str, int]]] = {
    D1: {"late_notification": {"2015/16 Q3": 1}, "missing_report": {"2015/16 Q4": 1}},
    D2: {"non_attendance_social_worker": {"2016/17 Q1": 1}},
}
LATE_REASONS = (
    "late_notification",
    "calculation_error",
    "missing_report",
    "non_attendance_significant_person",
    "non_attendance_social_worker",
    "series_of_meetings",
    "other",
    "not_recorded",
)
WINDOW_START = {D1: "2015-04-01", D2: "2016-04-01"}


def _value(numerator: int, denominator: int | None) -> float | None:
    if denominator is None:
        return float(numerator)  # a count
    return numerator / denominator * 100 if denominator else None


def _late_table(day: str) -> dict[str, Any]:
    counts = LATE[day]
    quarters = sorted({q for by_quarter in counts.values() for q in by_quarter})
    reasons = [
        {
            "reason": reason,
            "by_quarter": {q: counts.get(reason, {}).get(q, 0) for q in quarters},
            "total": sum(counts.get(reason, {}).values()),
        }
        for reason in LATE_REASONS
    ]
    per_quarter = {q: sum(r["by_quarter"][q] for r in reasons) for q in quarters}
    return {
        "as_at": day,
        "from": WINDOW_START[day],
        "quarters": quarters,
        "reasons": reasons,
        "reviews_by_quarter": per_quarter,
        "children_by_quarter": per_quarter,  # one late review per child in each quarter
        "total_reviews": sum(per_quarter.values()),
        "total_children": len(counts),
    }


def _wait_delivered(client: httpx.Client, system: Topology) -> None:
    """Both outboxes drained: every event acknowledged by its subscriber's inbox."""

    def backlog() -> list[dict[str, Any]]:
        rows = []
        for module in RELAYS:
            response = client.get(f"{system.base(module)}/admin/outbox", headers=ADMIN)
            assert response.status_code == 200, response.text
            rows += response.json()
        return rows

    try:
        rows = _eventually(
            backlog, lambda rows: rows and all(r["undelivered"] == 0 for r in rows), "delivery"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{system.logs()}") from None
    assert all(r["dead_lettered"] == 0 for r in rows), rows


def test_scorecard_from_real_processes_matches_hand_worked_figures_and_survives_rebuild(
    system: Topology,
) -> None:
    scorecard = system.base("scorecard_api")
    with httpx.Client(timeout=TIMEOUT) as client:
        entry = Entry(client, system)
        cohort = load_cohort(entry)
        dispute = entry.raise_dispute(cohort.children["A"], "LCS-A", "Amy Hill", cohort.alex)
        assert dispute["raised_on"] == "2016-11-14"
        _wait_delivered(client, system)

        def get(path: str, **params: Any) -> httpx.Response:
            response = client.get(f"{scorecard}/v1{path}", params=params, headers=PERFORMANCE)
            assert response.status_code == 200, response.text
            return response

        freshness = get("/freshness").json()
        assert sorted(freshness) == ["drp-api", "reviews-api"], freshness
        assert all(freshness.values()), freshness

        def reads() -> dict[str, bytes]:
            """Every read checked below, as bytes, to compare after the rebuild."""
            read = {"scorecard": get("/scorecard", as_at=[D1, D2]).content}
            for day in (D1, D2):
                read[f"children {day}"] = get(
                    "/kpis/reviews_in_timescale/children", as_at=day
                ).content
                for table in ("caseload", "late-reviews", "tools"):
                    read[f"{table} {day}"] = get(f"/tables/{table}", as_at=day).content
            return read

        before = reads()

        # --- the scorecard, both columns ---------------------------------------------------
        card = json.loads(before["scorecard"])
        assert [(c["as_at"], c["from"]) for c in card["columns"]] == [
            (D1, "2015-04-01"),
            (D2, "2016-04-01"),
        ]
        previous: dict[str, float | None] = {}
        for column in card["columns"]:
            expected = EXPECTED[column["as_at"]]
            got = {k["code"]: (k["numerator"], k["denominator"]) for k in column["kpis"]}
            assert got == expected, column["as_at"]
            for kpi in column["kpis"]:
                value = _value(*expected[kpi["code"]])
                before_value = previous.get(kpi["code"])
                change = value - before_value if None not in (value, before_value) else None
                assert (kpi["value"], kpi["change"]) == (value, change), kpi
                assert (kpi["target"], kpi["rag"]) == (None, None), kpi  # no targets set
                previous[kpi["code"]] = value
        directions = {k["code"]: k["direction"] for k in card["columns"][0]["kpis"]}
        assert directions["section_20"] == "lower"
        assert {d for c, d in directions.items() if c != "section_20"} == {"higher"}

        # --- a drill-down: the children behind reviews_in_timescale, failing first ---------
        ids, reviews = cohort.children, cohort.review_ids
        alex = {"id": cohort.alex, "name": "Alex Morgan"}
        blake = {"id": cohort.blake, "name": "Blake Jones"}
        drill = {
            D1: [
                # (child, met, reason, dates, review, IRO allocated on D1)
                (
                    "B",
                    False,
                    "review due 2016-01-14, held 2016-01-18, 2 working days late",
                    {"due_by": "2016-01-14", "held_on": "2016-01-18"},
                    reviews["B1"],
                    blake,
                ),
                (
                    "C",
                    False,
                    "review due 2015-11-27, held 2015-12-02, 3 working days late",
                    {"due_by": "2015-11-27", "held_on": "2015-12-02"},
                    reviews["C3"],
                    blake,
                ),
                (
                    "A",
                    True,
                    "all 3 reviews due in the window held in timescale; "
                    "review due 2016-01-20, held 2016-01-19, in timescale",
                    {"due_by": "2016-01-20", "held_on": "2016-01-19"},
                    reviews["A3"],
                    alex,
                ),
            ],
            D2: [
                (
                    "B",
                    False,
                    "review due 2016-04-18, held 2016-04-25, 5 working days late",
                    {"due_by": "2016-04-18", "held_on": "2016-04-25"},
                    reviews["B2"],
                    alex,  # reallocated from 1 Jan 2017
                ),
                (
                    "E",
                    False,
                    "review due 2017-03-20, not held by 2017-03-31 (9 working days over)",
                    {"due_by": "2017-03-20", "held_on": None},
                    None,
                    alex,
                ),
                (
                    "A",
                    True,
                    "all 2 reviews due in the window held in timescale; "
                    "review due 2017-01-18, held 2017-01-17, in timescale",
                    {"due_by": "2017-01-18", "held_on": "2017-01-17"},
                    reviews["A5"],
                    alex,
                ),
            ],
        }
        names = {"A": "Amy Hill", "B": "Ben Cole", "C": "Cara Ng", "E": "Eve Park"}
        for day, rows in drill.items():
            body = json.loads(before[f"children {day}"])
            numerator, denominator = EXPECTED[day]["reviews_in_timescale"]
            assert (body["as_at"], body["from"]) == (day, WINDOW_START[day])
            assert (body["numerator"], body["denominator"]) == (numerator, denominator)
            assert body["value"] == _value(numerator, denominator)
            assert body["next_cursor"] is None
            got_rows = [
                (
                    i["child_id"],
                    i["external_id"],
                    i["name"],
                    i["met"],
                    i["reason"],
                    i["dates"],
                    i["review_id"],
                    i["iro"],
                )
                for i in body["items"]
            ]
            assert got_rows == [
                (ids[k], f"LCS-{k}", names[k], met, reason, dates, review, iro)
                for k, met, reason, dates, review, iro in rows
            ], day

        # --- Table 1: caseloads --------------------------------------------------------------
        # D1: IROs in post Alex (1.0) and Blake (0.5) = 1.5 FTE; 3 / 1.5 = 2.0. Allocated on
        # D1: Alex has A; Blake has B and C (C moved to Blake on 1 Jun 2015).
        # D2: Blake has left, Alex alone (1.0); 3 / 1.0 = 3.0. Alex has A, B (from 1 Jan
        # 2017), D (short breaks: allocated all the same) and E.
        # Reviews held in the window, short breaks included: D1 A1, A2, A3, B1, C2, C3 (C1 was
        # before 1 Apr 2015); D2 A4, A5, B2, B3, C4, DAN.
        def iro_row(iro: str, name: str, fte: float, allocated: int) -> dict[str, Any]:
            return {
                "iro_id": iro,
                "name": name,
                "fte": fte,
                "allocated": allocated,
                "caseload_per_fte": allocated / fte,
                "within_range": False,  # far below the handbook's 50-70
            }

        caseload = {
            D1: {
                "looked_after": 3,
                "reviews_held": 6,
                "total_fte": 1.5,
                "average_caseload": 2.0,
                "iros": [
                    iro_row(cohort.alex, "Alex Morgan", 1.0, 1),
                    iro_row(cohort.blake, "Blake Jones", 0.5, 2),
                ],
            },
            D2: {
                "looked_after": 3,
                "reviews_held": 6,
                "total_fte": 1.0,
                "average_caseload": 3.0,
                "iros": [iro_row(cohort.alex, "Alex Morgan", 1.0, 4)],
            },
        }
        for day, figures in caseload.items():
            table = json.loads(before[f"caseload {day}"])
            assert table == {"as_at": day, "from": WINDOW_START[day], **figures}, day

        # --- Table 3: late reviews, and the use of tools -----------------------------------
        for day in (D1, D2):
            assert json.loads(before[f"late-reviews {day}"]) == _late_table(day), day
        # D1: A3 MOMO, B1 Viewpoint (of 6 held). D2: C4 and DAN MOMO, A4 Viewpoint (of 6).
        tools = {D1: (6, 1, 1), D2: (6, 2, 1)}
        for day, (held, momo, viewpoint) in tools.items():
            assert json.loads(before[f"tools {day}"]) == {
                "as_at": day,
                "from": WINDOW_START[day],
                "reviews_held": held,
                "momo": momo,
                "viewpoint": viewpoint,
            }, day

        # --- rebuild: empty the read models, the producers republish, the relays deliver ----
        response = client.post(f"{scorecard}/admin/rebuild", headers=ADMIN)
        assert response.status_code == 200, response.text
        rebuilt = response.json()
        assert {"child", "episode", "review", "review_due", "visit"} <= set(rebuilt["emptied"])
        # reviews-api: 5 children x (child, allocation, plan) + 2 IROs + 13 reviews + 9
        # visits = 39 aggregates; drp-api: the one dispute.
        assert rebuilt["republished"] == {"drp-api": 1, "reviews-api": 39}
        _wait_delivered(client, system)
        # The facts now come from the republished events, which are newer than the first ones.
        refreshed = get("/freshness").json()
        assert sorted(refreshed) == sorted(freshness), refreshed
        for source, at in refreshed.items():
            assert datetime.fromisoformat(at) > datetime.fromisoformat(freshness[source])
        after = reads()
        assert after["scorecard"] == before["scorecard"]
        assert after == before
