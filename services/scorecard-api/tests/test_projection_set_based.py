"""The scorecard's set-based projections (IROs, visits, secure reviews, disputes, allocations,
plan dates): a batch's events of a type applied at once, the newest version of each aggregate
winning however its events arrive (out of order, repeated, across batches). On SQLite, and on
PostgreSQL when IRO_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlalchemy import select

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.db import Database
from iro_kit.events import CloudEvent
from iro_kit.events.inbox import receive_batch
from iro_kit.schedule import ScheduleRules
from scorecard_api.models import (
    EVENT_TABLES,
    allocation,
    dispute,
    dispute_action,
    iro,
    plan_date,
    producer_progress,
    projection_version,
    review_due,
    visit,
)
from scorecard_api.projections.handlers import batch_handlers, handlers

from .conftest import DRP_RELAY, REVIEWS_RELAY, dispute_state
from .conftest import cloud_event as event

CHILD = uuid.UUID(int=0xC1)


@pytest.fixture
def url(scorecard: TestClient, database_url: str) -> str:
    return database_url  # migrated by the `scorecard` fixture


def iro_event(iro_id: uuid.UUID, version: int, name: str, **extra: Any) -> dict[str, Any]:
    state = {
        "id": str(iro_id),
        "name": name,
        "email": "alex@la.example",
        "fte": 1.0,
        "in_post_from": "2015-01-01",
        "in_post_to": None,
    }
    return event("iro.changed", iro_id, version, state, **extra)


def visit_event(
    visit_id: uuid.UUID, version: int, on: str, deleted: bool = False
) -> dict[str, Any]:
    state = {
        "id": str(visit_id),
        "child_id": str(CHILD),
        "kind": "pre_review",
        "visited_on": on,
        "iro_id": None,
        "deleted": deleted,
    }
    return event("visit.changed", visit_id, version, state)


def deliver(client: TestClient, *events: dict[str, Any]) -> list[str]:
    headers = DRP_RELAY if events[0]["source"] == "/drp-api" else REVIEWS_RELAY
    response = client.post("/scorecard/events", json=list(events), headers=headers)
    assert response.status_code == 200, response.text
    return [r["status"] for r in response.json()["results"]]


def read(url: str, statement: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        database = Database(url)
        try:
            async with database.sessions() as session:
                return [tuple(row) for row in await session.execute(statement)]
        finally:
            await database.dispose()

    return asyncio.run(run())


def iros(url: str) -> list[tuple[Any, ...]]:
    return read(url, select(iro.c.id, iro.c.name, iro.c.end_on).order_by(iro.c.name))


def versions(url: str, event_type: str) -> dict[str, int]:
    rows = read(
        url,
        select(projection_version.c.subject, projection_version.c.version).where(
            projection_version.c.event_type == event_type
        ),
    )
    return dict(rows)  # type: ignore[arg-type]


def test_versions_3_1_2_of_an_iro_in_one_batch_leave_version_3(
    scorecard: TestClient, url: str
) -> None:
    a = uuid.uuid4()
    statuses = deliver(
        scorecard, iro_event(a, 3, "Three"), iro_event(a, 1, "One"), iro_event(a, 2, "Two")
    )
    assert statuses == ["applied", "applied", "applied"]
    assert iros(url) == [(a, "Three", None)]
    assert versions(url, "iro.changed") == {str(a): 3}


def test_the_same_event_twice_is_applied_once(scorecard: TestClient, url: str) -> None:
    a = uuid.uuid4()
    first = iro_event(a, 1, "One", time="2026-11-26T10:00:00Z")
    second = iro_event(a, 2, "Two", time="2026-11-26T11:00:00Z")
    assert deliver(scorecard, first, first, second) == ["applied", "duplicate", "applied"]
    assert deliver(scorecard, first) == ["duplicate"]
    progress = read(
        url,
        select(
            producer_progress.c.source,
            producer_progress.c.last_version,
            producer_progress.c.events_applied,
        ),
    )
    assert progress == [("reviews-api", 2, 2)]  # two events applied, each once
    assert iros(url) == [(a, "Two", None)]


def test_a_stale_version_in_a_later_batch_changes_nothing(scorecard: TestClient, url: str) -> None:
    a, v = uuid.uuid4(), uuid.uuid4()
    deliver(scorecard, iro_event(a, 5, "Five"), visit_event(v, 4, "2017-02-01"))
    later = deliver(
        scorecard,
        visit_event(v, 3, "2016-01-01"),
        iro_event(a, 4, "Four"),
        iro_event(a, 5, "Five again"),  # the same version again: not newer
    )
    assert later == ["applied", "applied", "applied"]
    assert iros(url) == [(a, "Five", None)]
    assert read(url, select(visit.c.id, visit.c.visited_on)) == [(v, date(2017, 2, 1))]
    assert versions(url, "iro.changed") == {str(a): 5}
    assert versions(url, "visit.changed") == {str(v): 4}


def test_a_deleted_newest_version_wins_and_stays(scorecard: TestClient, url: str) -> None:
    v, w = uuid.uuid4(), uuid.uuid4()
    deliver(scorecard, visit_event(v, 1, "2017-02-01"), visit_event(w, 1, "2017-03-01"))
    deliver(
        scorecard,
        visit_event(v, 3, "2017-02-01", deleted=True),
        visit_event(v, 2, "2017-02-02"),
        visit_event(w, 2, "2017-03-02"),
    )
    assert read(url, select(visit.c.id, visit.c.visited_on)) == [(w, date(2017, 3, 2))]
    deliver(scorecard, visit_event(v, 2, "2017-02-02"))  # a stale live one: still gone
    assert read(url, select(visit.c.id, visit.c.visited_on)) == [(w, date(2017, 3, 2))]
    assert versions(url, "visit.changed") == {str(v): 3, str(w): 2}


def test_a_dispute_and_its_history_are_the_newest_versions(scorecard: TestClient, url: str) -> None:
    d, gone, i = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    one = [("raise", "2017-04-13", 1, "awaiting_response", "2017-04-20")]
    two = [*one, ("respond", "2017-04-18", 1, "resolved", None)]

    def state(key: uuid.UUID, history: list[Any]) -> dict[str, Any]:
        return dispute_state(key, CHILD, i, "2017-04-13", "2017-06-08", history, ["permanency"])

    deliver(scorecard, event("dispute.changed", gone, 1, state(gone, one)))
    deliver(
        scorecard,
        event("dispute.changed", d, 2, state(d, two)),
        event("dispute.changed", gone, 2, {"id": str(gone), "deleted": True}),
        event("dispute.changed", d, 1, state(d, one)),
    )
    assert read(url, select(dispute.c.id, dispute.c.themes)) == [(d, ["permanency"])]
    actions = read(
        url,
        select(
            dispute_action.c.dispute_id, dispute_action.c.version, dispute_action.c.status
        ).order_by(dispute_action.c.version),
    )
    assert actions == [(d, 1, "awaiting_response"), (d, 2, "resolved")]


def test_allocations_and_plan_dates_are_each_childs_newest_set(
    scorecard: TestClient, url: str
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()

    def allocations(version: int, iro_id: uuid.UUID, start: str) -> dict[str, Any]:
        entry = {"id": str(uuid.uuid5(iro_id, start)), "iro_id": str(iro_id), "from_on": start}
        state = {"child_id": str(CHILD), "allocations": [{**entry, "to_on": None}]}
        return event("allocation.changed", CHILD, version, state)

    def plans(version: int, *dated: str) -> dict[str, Any]:
        state = {
            "child_id": str(CHILD),
            "plan_dates": [{"kind": "care_plan", "dated_on": d, "source": "lcs"} for d in dated],
        }
        return event("plan.changed", CHILD, version, state)

    deliver(scorecard, allocations(1, a, "2016-01-01"), plans(2, "2016-02-01", "2016-02-01"))
    deliver(
        scorecard,
        plans(4, "2016-05-01", "2016-06-01"),
        allocations(3, b, "2016-03-01"),
        plans(3, "2016-04-01"),
        allocations(2, a, "2016-02-01"),
    )
    assert read(url, select(allocation.c.iro_id, allocation.c.start_on)) == [(b, date(2016, 3, 1))]
    assert read(url, select(plan_date.c.dated_on).order_by(plan_date.c.dated_on)) == [
        (date(2016, 5, 1),),
        (date(2016, 6, 1),),
    ]


def test_progress_keeps_the_latest_time_and_version_and_counts_every_event(
    scorecard: TestClient, url: str
) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    deliver(
        scorecard,
        iro_event(a, 7, "A", time="2026-11-26T12:00:00Z"),
        iro_event(b, 9, "B", time="2026-11-26T09:00:00Z"),
    )
    deliver(  # older on both counts: the count grows, the time and version stay
        scorecard,
        iro_event(a, 3, "A3", time="2026-11-26T08:00:00+00:00"),
        visit_event(uuid.uuid4(), 2, "2017-01-01"),
    )
    rows = read(
        url,
        select(
            producer_progress.c.last_event_at,
            producer_progress.c.last_version,
            producer_progress.c.events_applied,
        ),
    )
    [(at, version, count)] = rows
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    assert (at, version, count) == (datetime(2026, 11, 26, 12, tzinfo=UTC), 9, 4)


def test_a_batch_of_set_based_types_is_a_few_statements(url: str) -> None:
    """100 IRO and 100 visit events (two versions each of 50): the inbox's look-up and insert,
    then per type: the versions, the rows, the progress. Not statements per event."""
    rules = ScheduleRules(calendar=WorkingDayCalendar())
    iro_ids, visit_ids = [uuid.uuid4() for _ in range(50)], [uuid.uuid4() for _ in range(50)]
    events = [iro_event(i, v, f"v{v}") for v in (2, 1) for i in iro_ids]
    events += [visit_event(i, v, f"2017-0{v}-01") for v in (1, 2) for i in visit_ids]
    statements: list[str] = []

    async def run() -> list[str]:
        database = Database(url)

        def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            statements.append(
                statement.split(None, 3)[2]
                if statement.startswith("INSERT")
                else statement.split(None, 1)[0].upper()
            )

        sa_event.listen(database.engine.sync_engine, "before_cursor_execute", record)
        try:
            async with database.transaction() as session:
                statements.clear()
                results = await receive_batch(
                    session,
                    EVENT_TABLES,
                    handlers(rules),
                    [CloudEvent.model_validate(e) for e in events],
                    batch_handlers(rules),
                )
                done = list(statements)
            return [r.status for r in results] + done
        finally:
            await database.dispose()

    outcome = asyncio.run(run())
    assert outcome[:200] == ["applied"] * 200
    work = [s for s in outcome[200:] if s not in ("BEGIN", "SAVEPOINT", "RELEASE")]
    assert work == [
        "SELECT",  # the inbox: seen before?
        "inbox",
        "projection_version",  # IROs: which are newer
        "iro",
        "producer_progress",
        "projection_version",  # visits
        "visit",
        "producer_progress",
    ]
    assert {name for _, name, _ in iros(url)} == {"v2"}
    assert read(url, select(visit.c.visited_on).distinct()) == [(date(2017, 2, 1),)]


def test_a_child_and_its_review_keep_their_chain_in_a_mixed_batch(
    scorecard: TestClient, url: str
) -> None:
    """The per-event types (their review chain) in one batch with set-based ones."""
    review_id = uuid.uuid4()
    child_state = {
        "id": str(CHILD),
        "external_id": "LCS-1",
        "given_name": "Sam",
        "family_name": "Taylor",
        "date_of_birth": "2010-01-01",
        "sex": "female",
        "periods_of_care": [
            {
                "start_on": "2016-09-05",
                "end_on": None,
                "clock": "reg_33",
                "legal_status": "C2",
                "episodes": [
                    {
                        "id": str(uuid.uuid5(CHILD, "e1")),
                        "external_id": None,
                        "start_on": "2016-09-05",
                        "end_on": None,
                        "reason_new_episode": "S",
                        "legal_status": "C2",
                        "placement": "U1",
                        "reason_ended": None,
                    }
                ],
            }
        ],
        "deleted": False,
    }
    review_state = {
        "id": str(review_id),
        "child_id": str(CHILD),
        "scheduled_for": None,
        "held_on": "2016-09-30",
        "series_started_on": None,
        "period_started_on": None,
        "sequence": None,
        "due_by": None,
        "in_timescale": None,
        "participation_code": "PN1",
        "views_method": "in_person",
        "late_reason": None,
        "deleted": False,
    }
    statuses = deliver(
        scorecard,
        iro_event(uuid.uuid4(), 1, "Alex Morgan"),
        event("review.changed", review_id, 2, review_state),
        visit_event(uuid.uuid4(), 3, "2016-09-20"),
        event("child.changed", CHILD, 4, child_state),
    )
    assert statuses == ["applied"] * 4
    dues = read(
        url,
        select(review_due.c.ordinal, review_due.c.due_by, review_due.c.held_on).order_by(
            review_due.c.ordinal
        ),
    )
    assert dues == [(0, date(2016, 10, 3), date(2016, 9, 30)), (1, date(2016, 12, 30), None)]
