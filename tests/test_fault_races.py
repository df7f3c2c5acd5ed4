"""Fault test 4 (issue 10): the races, on PostgreSQL, through nginx, against real processes.

Each race is run TRIALS times on a fresh child; in each trial its requests are released
together from a barrier (tests/races_support.py), so they are in the services at once. The
invariants are checked after every trial, and every trial counts:

1. parallel allocations for one child (different IROs, same or different `start_on`): exactly
   one open allocation afterwards, the history without overlap; losers get a 409;
2. parallel review writes for one child (distinct `held_on` dates, and the episode's start
   moved at the same moment): every stored `sequence`, `due_by`, `in_timescale` and period
   equals what the schedule recomputes;
3. double submits: 20 parallel posts of the same held review (2017-01-20, PN1) store one; the
   others are 409 `already-recorded` naming it; the next review is the second, due
   2017-04-21 (the issue's example: looked after from 2017-01-03, first review due 2017-01-31);
4. parallel raises with one `Idempotency-Key`: one dispute; every response the same 201, the
   replays marked `Idempotent-Replayed: true`;
5. parallel posts of a review with one `Idempotency-Key`: one review, identical responses.

PostgreSQL is required (SQLite serialises writers, so it cannot show these races): the module
is skipped without IRO_TEST_POSTGRES_URL, and fails instead when IRO_TEST_REQUIRE names
postgres. Loopback only; every loop is bounded by its trial count and request timeouts. The
figures of each race (trials, requests, statuses, latencies, broken invariants, duration) are
printed as one JSON line and kept in `$IRO_FAULT_FIGURES_DIR/fault_races.json` (the test's
temporary folder by default).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest

from iro_kit.testing import bearer, postgres_admin_url, skip_unless_available

from .conftest import SERVICES, Gateway, RunningService, start_gateway
from .fault_load import REVIEWS_RELAY, people_events
from .races_support import Call, Outcome, RaceFigures, racer, record

TRIALS = 20
RACE_BUDGET_SECONDS = 30.0  # each race (about 3-7 s here): with start-up, the file < 3 min
PROBLEMS = "https://iro.example/problems/"

INTEGRATION = bearer("integration", subject="lcs")
MANAGER = bearer("iro_manager", subject="manager-1", name="Pat Singh")
IRO = bearer("iro", subject="iro-1", name="Alex Morgan")

EPISODE_START = "2017-01-03"
# Weekdays within 20 working days of EPISODE_START (and of the day before): in timescale as
# first, second or subsequent review, whichever of them the others turn out to be.
EARLY_DAYS = [
    d.isoformat()
    for d in (date(2017, 1, 4) + timedelta(days=n) for n in range(24))
    if d.weekday() < 5
]


@dataclass
class Stack:
    gateway: Gateway
    services: dict[str, RunningService]
    workdir: Path
    setup: httpx.Client

    def child(self, tag: str, start_on: str | None = EPISODE_START) -> tuple[str, str | None]:
        """A new child, looked after from `start_on`: (child id, episode id)."""
        body = {
            "external_id": f"RACE-{tag}-{uuid.uuid4().hex[:8]}",
            "given_name": "Sam",
            "family_name": "Race",
            "date_of_birth": "2010-06-15",
            "sex": "female",
        }
        made = self.setup.post("/reviews/v1/children", json=body, headers=INTEGRATION)
        assert made.status_code == 201, made.text
        child_id = made.json()["id"]
        if start_on is None:
            return child_id, None
        episode = self.setup.post(
            f"/reviews/v1/children/{child_id}/episodes",
            json={"start_on": start_on, "reason_new_episode": "S", "legal_status": "C2"},
            headers=INTEGRATION,
        )
        assert episode.status_code == 201, episode.text
        return child_id, episode.json()["id"]

    def announce(self, children: list[tuple[str, str]], iros: list[tuple[str, str]]) -> None:
        """Tells drp-api of children and IROs as reviews-api's relay would, at its own port
        (the gateway keeps inboxes internal)."""
        response = httpx.post(
            f"{self.services['drp_api'].url}/drp/events",
            json=people_events(children, iros),
            headers=REVIEWS_RELAY,
            timeout=30,
        )
        assert response.status_code == 200, response.text

    def get(self, path: str, **params: Any) -> Any:
        response = self.setup.get(path, params=params, headers=MANAGER)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The three services on PostgreSQL behind nginx, with a rate limit no race reaches."""
    if postgres_admin_url() is None:
        skip_unless_available(
            "postgres",
            "the races need PostgreSQL (SQLite serialises writers): set IRO_TEST_POSTGRES_URL",
        )
    services: dict[str, RunningService] = request.getfixturevalue("running_services")
    upstreams = {
        f"{info.env_prefix}UPSTREAM": f"127.0.0.1:{services[info.module].port}" for info in SERVICES
    }
    workdir = tmp_path_factory.mktemp("races")
    with (
        start_gateway(tmp_path_factory.mktemp("races-gateway"), upstreams, rate=5000) as gateway,
        httpx.Client(base_url=gateway.url, timeout=30) as setup,
    ):
        yield Stack(gateway, services, workdir, setup)


def _problem_kind(outcome: Outcome) -> str | None:
    if isinstance(outcome.body, dict) and isinstance(outcome.body.get("type"), str):
        return outcome.body["type"].removeprefix(PROBLEMS)
    return None


def _unexpected(outcomes: list[Outcome], allowed: set[int]) -> list[str]:
    return [
        f"{o.label}: {str(o.body)[:200]}"
        for o in outcomes
        if o.status is None or o.status not in allowed
    ]


def _finish(figures: RaceFigures, stack: Stack, record_property: Any) -> None:
    record(figures, stack.workdir, record_property)
    assert figures.trials == TRIALS
    assert figures.server_errors == 0, figures.summary()
    assert figures.violations == [], figures.summary()
    assert figures.summary()["duration_seconds"] < RACE_BUDGET_SECONDS, figures.summary()


# 1. Parallel allocations ---------------------------------------------------------------------

ALLOCATIONS = 10


def test_parallel_allocations_leave_one_open_allocation(stack: Stack, record_property: Any) -> None:
    iros = []
    for n in range(ALLOCATIONS):
        made = stack.setup.post(
            "/reviews/v1/iros",
            json={
                "name": f"Race IRO {n}",
                "email": f"race-iro-{n}-{uuid.uuid4().hex[:6]}@la.example",
                "fte": 1.0,
                "start_on": "2015-01-01",
            },
            headers=MANAGER,
        )
        assert made.status_code == 201, made.text
        iros.append(made.json()["id"])
    figures = RaceFigures("parallel_allocations", extra={"requests_per_trial": ALLOCATIONS})
    with racer(stack.gateway.url, ALLOCATIONS) as race:
        for trial in range(TRIALS):
            child_id, _ = stack.child(f"alloc{trial}")
            # Half on one day (one must win, the rest 409), half on later days.
            calls: list[Call] = [
                (
                    "POST",
                    f"/reviews/v1/children/{child_id}/allocations",
                    {
                        "iro_id": iro,
                        "start_on": (date(2017, 1, 3) + timedelta(days=max(0, n - 4))).isoformat(),
                    },
                    MANAGER,
                )
                for n, iro in enumerate(iros)
            ]
            outcomes = race.fire(calls)
            figures.count(outcomes)
            history = stack.get(f"/reviews/v1/children/{child_id}/allocations")
            figures.check(trial, _unexpected(outcomes, {201, 409}) + _allocation_problems(history))
    _finish(figures, stack, record_property)


def _allocation_problems(history: list[dict[str, Any]]) -> list[str]:
    problems = []
    open_ones = [a for a in history if a["end_on"] is None]
    if len(open_ones) != 1:
        problems.append(f"{len(open_ones)} open allocations: {[a['start_on'] for a in open_ones]}")
    ordered = sorted(history, key=lambda a: a["start_on"])
    for before, after in pairwise(ordered):
        expected_end = (date.fromisoformat(after["start_on"]) - timedelta(days=1)).isoformat()
        if before["end_on"] != expected_end:
            problems.append(
                f"allocation from {before['start_on']} ends {before['end_on']}, "
                f"the next starts {after['start_on']}"
            )
    return problems


# 2. Parallel review writes -------------------------------------------------------------------

REVIEWS_AT_ONCE = 8
AS_AT = "2017-06-30"


def test_parallel_review_writes_leave_the_stored_chain_as_recomputed(
    stack: Stack, record_property: Any
) -> None:
    figures = RaceFigures(
        "parallel_review_writes", extra={"requests_per_trial": REVIEWS_AT_ONCE + 1}
    )
    compared = 0
    with racer(stack.gateway.url, REVIEWS_AT_ONCE + 1) as race:
        for trial in range(TRIALS):
            child_id, episode_id = stack.child(f"chain{trial}")
            days = sorted(random.Random(trial).sample(EARLY_DAYS, REVIEWS_AT_ONCE))
            calls: list[Call] = [
                (
                    "POST",
                    f"/reviews/v1/children/{child_id}/reviews",
                    {"held_on": day, "participation_code": "PN1"},
                    IRO,
                )
                for day in days
            ]
            # The episode's start moves at the same moment: the first review's due date moves.
            # The episode was just created, so its ETag is "1" (reviews' writes leave it alone).
            calls.append(
                (
                    "PATCH",
                    f"/reviews/v1/episodes/{episode_id}",
                    {"start_on": "2017-01-02"},
                    {**INTEGRATION, "If-Match": '"1"'},
                )
            )
            outcomes = race.fire(calls)
            figures.count(outcomes)
            stored = stack.get(f"/reviews/v1/children/{child_id}/reviews")
            schedule = stack.get(f"/reviews/v1/children/{child_id}/schedule", as_at=AS_AT)
            compared += len(stored)
            problems = _unexpected(outcomes, {200, 201})
            if len(stored) != REVIEWS_AT_ONCE:
                problems.append(f"{len(stored)} reviews stored of {REVIEWS_AT_ONCE} posted")
            figures.check(trial, problems + _chain_problems(stored, schedule))
    figures.extra["reviews_compared"] = compared
    _finish(figures, stack, record_property)


def _chain_problems(stored: list[dict[str, Any]], schedule: dict[str, Any]) -> list[str]:
    computed = {r["review_id"]: r for r in schedule["reviews"]}
    period = (schedule.get("period_of_care") or {}).get("start_on")
    problems = []
    for review in stored:
        expected = computed.get(review["id"])
        if expected is None:
            problems.append(f"review of {review['held_on']} is not in the schedule")
            continue
        want = (period, expected["sequence"], expected["due_by"]["date"], expected["in_timescale"])
        got = (
            review["period_started_on"],
            review["sequence"],
            review["due_by"],
            review["in_timescale"],
        )
        if got != want:
            problems.append(f"held {review['held_on']}: stored {got}, recomputed {want}")
    return problems


# 3. Double submits ---------------------------------------------------------------------------

DOUBLE_SUBMITS = 20
HELD = {"held_on": "2017-01-20", "participation_code": "PN1"}


def test_double_submits_store_one_review_and_keep_the_schedule(
    stack: Stack, record_property: Any
) -> None:
    figures = RaceFigures("double_submits", extra={"requests_per_trial": DOUBLE_SUBMITS})
    with racer(stack.gateway.url, DOUBLE_SUBMITS) as race:
        for trial in range(TRIALS):
            child_id, _ = stack.child(f"double{trial}")
            path = f"/reviews/v1/children/{child_id}/reviews"
            outcomes = race.fire([("POST", path, dict(HELD), IRO)] * DOUBLE_SUBMITS)
            figures.count(outcomes)
            stored = stack.get(path)
            upcoming = stack.get(f"/reviews/v1/children/{child_id}/schedule", as_at="2017-02-01")[
                "next_review"
            ]
            figures.check(trial, _double_submit_problems(outcomes, stored, upcoming))
    _finish(figures, stack, record_property)


def _double_submit_problems(
    outcomes: list[Outcome], stored: list[dict[str, Any]], upcoming: dict[str, Any] | None
) -> list[str]:
    problems = _unexpected(outcomes, {201, 409})
    created = [o.body["id"] for o in outcomes if o.status == 201]
    if len(created) != 1 or len(stored) != 1:
        problems.append(f"{len(created)} created, {len(stored)} stored (one of each expected)")
    for outcome in outcomes:
        if outcome.status != 409:
            continue
        if _problem_kind(outcome) != "already-recorded":
            problems.append(f"409 of kind {_problem_kind(outcome)}")
        elif created and outcome.body.get("existing_review_id") != created[0]:
            problems.append(f"409 names {outcome.body.get('existing_review_id')}, not {created[0]}")
    next_review = (
        (upcoming or {}).get("sequence"),
        ((upcoming or {}).get("due_by") or {}).get("date"),
    )
    if next_review != ("second", "2017-04-21"):
        problems.append(f"next review {next_review}, not ('second', '2017-04-21')")
    return problems


# 4. Parallel raises with one key -------------------------------------------------------------

RAISES = 12


def test_parallel_raises_with_one_key_make_one_dispute(stack: Stack, record_property: Any) -> None:
    figures = RaceFigures("parallel_raises_one_key", extra={"requests_per_trial": RAISES})
    with racer(stack.gateway.url, RAISES) as race:
        for trial in range(TRIALS):
            child = {"id": str(uuid.uuid4()), "external_id": f"RACE-DRP-{trial}"}
            iro_id = str(uuid.uuid4())
            # Race 4 is about the key, not the copy of people kept from events
            # (tests/test_events_e2e.py covers that): drp-api is told of them directly.
            stack.announce([(child["id"], child["external_id"])], [(iro_id, "Alex Morgan")])
            body = {
                "child_id": child["id"],
                "category": "lac",
                "iro_id": iro_id,
                "raised_on": "2017-04-13",
                "themes": ["drift_and_delay", "permanency"],
                "issue": "No permanence plan was agreed at the second review.",
                "outcome_sought": "A permanence planning meeting held by 28 April 2017.",
                "asked": {"name": "Jo Bloggs", "role": "Team manager"},
            }
            headers = {**IRO, "Idempotency-Key": f"raise-{uuid.uuid4()}"}
            outcomes = race.fire([("POST", "/drp/v1/disputes", body, headers)] * RAISES)
            figures.count(outcomes)
            stored = stack.get("/drp/v1/disputes", child_id=child["id"], count="true")
            problems = _same_response_problems(outcomes)
            if stored["total"] != 1:
                problems.append(f"{stored['total']} disputes stored for one raise")
            figures.check(trial, problems)
    _finish(figures, stack, record_property)


def _same_response_problems(outcomes: list[Outcome]) -> list[str]:
    """Every response is the first one's 201, and all but it say they are replays."""
    problems = _unexpected(outcomes, {201})
    bodies = {repr(o.body) for o in outcomes}
    if len(bodies) != 1:
        problems.append(f"{len(bodies)} different response bodies")
    locations = {o.headers.get("location") for o in outcomes}
    if len(locations) != 1:
        problems.append(f"{len(locations)} different Locations")
    replayed = sum(o.headers.get("idempotent-replayed") == "true" for o in outcomes)
    if replayed != len(outcomes) - 1:
        problems.append(f"{replayed} replays of {len(outcomes)} (expected {len(outcomes) - 1})")
    return problems


# 5. Parallel review posts with one key -------------------------------------------------------

SAME_KEY_REVIEWS = 12


def test_parallel_review_posts_with_one_key_store_one_review(
    stack: Stack, record_property: Any
) -> None:
    figures = RaceFigures(
        "parallel_reviews_one_key", extra={"requests_per_trial": SAME_KEY_REVIEWS}
    )
    with racer(stack.gateway.url, SAME_KEY_REVIEWS) as race:
        for trial in range(TRIALS):
            child_id, _ = stack.child(f"key{trial}")
            path = f"/reviews/v1/children/{child_id}/reviews"
            headers = {**IRO, "Idempotency-Key": f"review-{uuid.uuid4()}"}
            outcomes = race.fire([("POST", path, dict(HELD), headers)] * SAME_KEY_REVIEWS)
            figures.count(outcomes)
            stored = stack.get(path)
            problems = _same_response_problems(outcomes)
            if len(stored) != 1:
                problems.append(f"{len(stored)} reviews stored for one post")
            figures.check(trial, problems)
    _finish(figures, stack, record_property)
