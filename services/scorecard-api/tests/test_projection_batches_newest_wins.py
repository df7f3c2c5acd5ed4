"""Newest version wins in every projection table, however a batch's events arrive.

For each event type the scorecard projects (and for all of them mixed), events out of order
and duplicated (the same event twice, an older version after a newer, two events of one
version) are applied in one batch, or in two batches with the second stale against what the
first committed. The projected rows must equal those of applying the same events one at a
time in version order, and those of applying only each aggregate's winning event (its newest
version, the first of equal ones). The set-based types must go through their batch handler,
not the per-event fallback. On SQLite, and on PostgreSQL when IRO_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.db import Database
from iro_kit.events import CloudEvent
from iro_kit.events.inbox import BatchHandler, receive, receive_batch
from iro_kit.migrations import upgrade_to_head
from iro_kit.schedule import ScheduleRules
from iro_kit.testing import empty_database
from scorecard_api.app import SPEC
from scorecard_api.models import (
    EVENT_TABLES,
    PROJECTIONS,
    allocation,
    child,
    dispute,
    dispute_action,
    iro,
    plan_date,
    review,
    secure_review,
    visit,
)
from scorecard_api.projections.handlers import as_utc, batch_handlers, handlers

from .conftest import cloud_event, dispute_state

RULES = ScheduleRules(calendar=WorkingDayCalendar())
CHILD = uuid.UUID(int=0xC1)  # the child the reviews, visits and others belong to
SUBJECTS = 4  # aggregates per type


def _event(
    event_type: str, subject: uuid.UUID, version: int, state: dict[str, Any], n: int
) -> dict[str, Any]:
    """An event sent `n` minutes after 09:00 on 26 November 2026."""
    sent = (datetime(2026, 11, 26, 9) + timedelta(minutes=n)).isoformat() + "Z"
    return cloud_event(event_type, subject, version, state, sent)


def _on(start: str, days: int) -> str:
    return (date.fromisoformat(start) + timedelta(days=days)).isoformat()


# --- whole states as the producers publish them, varied by `label` ----------------------------


def _iro(key: uuid.UUID, label: int, deleted: bool) -> dict[str, Any]:
    return {
        "id": str(key),
        "name": f"IRO {label}",
        "email": "iro@la.example",
        "fte": 0.5 if label % 2 else 1.0,
        "in_post_from": _on("2015-01-01", label),
        "in_post_to": _on("2025-01-01", label) if label % 3 == 0 else None,
        **({"deleted": True} if deleted else {}),
    }


def _visit(key: uuid.UUID, label: int, deleted: bool) -> dict[str, Any]:
    return {
        "id": str(key),
        "child_id": str(CHILD),
        "kind": "midway" if label % 2 else "pre_review",
        "visited_on": _on("2017-01-01", label),
        "iro_id": str(uuid.UUID(int=label)) if label % 3 else None,
        "deleted": deleted,
    }


def _secure_review(key: uuid.UUID, label: int, deleted: bool) -> dict[str, Any]:
    return {
        "id": str(key),
        "child_id": str(CHILD),
        "placement_id": str(uuid.uuid5(key, "placement")),
        "held_on": _on("2017-03-01", label),
        "due_by": _on("2017-03-10", label),
        "in_timescale": label % 2 == 0,
        "panel_size": 3 + label % 3,
        "independent_members": 1 + label % 2,
        "deleted": deleted,
    }


def _dispute(key: uuid.UUID, label: int, deleted: bool) -> dict[str, Any]:
    if deleted:
        return {"id": str(key), "deleted": True}
    history = [
        ("raise", "2017-04-13", 1, "awaiting_response", "2017-04-20"),
        ("respond", _on("2017-04-14", label), 1, "escalated", "2017-05-01"),
        ("escalate", _on("2017-04-20", label), 2, "awaiting_response", None),
    ][: 1 + label % 3]
    themes = [["permanency"], ["contact", "care_plan"], []][label % 3]
    state = dispute_state(key, CHILD, uuid.UUID(int=7), "2017-04-13", "2017-06-08", history, themes)
    return {**state, "reference": f"DRP-{label}"}


def _allocations(key: uuid.UUID, label: int, deleted: bool) -> dict[str, Any]:
    entries = [
        {
            "id": str(uuid.uuid5(key, f"{label}-{n}")),
            "iro_id": str(uuid.UUID(int=label + n)),
            "from_on": _on("2016-01-01", 100 * n + label),
            "to_on": _on("2016-03-01", 100 * n + label) if n == 0 and label % 2 else None,
        }
        for n in range(label % 3)
    ]
    return {"child_id": str(key), "allocations": entries}


def _plans(key: uuid.UUID, label: int, deleted: bool) -> dict[str, Any]:
    dates = [("care_plan", _on("2016-02-01", label)), ("pathway_plan", _on("2016-05-01", label))]
    dates = dates[: label % 3] + dates[:1]  # the first date repeated within the set
    return {
        "child_id": str(key),
        "plan_dates": [{"kind": k, "dated_on": d, "source": "lcs"} for k, d in dates],
    }


def _child(key: uuid.UUID, label: int, deleted: bool) -> dict[str, Any]:
    episodes = [
        {
            "id": str(uuid.uuid5(key, f"e{label}-{n}")),
            "external_id": None,
            "start_on": start,
            "end_on": end,
            "reason_new_episode": rne,
            "legal_status": status,
            "placement": "U1",
            "reason_ended": None,
        }
        for n, (start, end, status, rne) in enumerate(
            [
                (_on("2016-01-04", label), _on("2016-08-01", label), "C2", "S"),
                (_on("2016-08-01", label), None, "C2", "P"),
            ][: 1 + label % 2]
        )
    ]
    return {
        "id": str(key),
        "external_id": f"LCS-{label}",
        "given_name": f"Sam{label}",
        "family_name": "Taylor",
        "date_of_birth": "2010-01-01",
        "sex": "female",
        "periods_of_care": [
            {
                "start_on": episodes[0]["start_on"],
                "end_on": None,
                "clock": "reg_33",
                "legal_status": "C2",
                "episodes": episodes,
            }
        ],
        "deleted": deleted,
    }


def _review(key: uuid.UUID, label: int, deleted: bool) -> dict[str, Any]:
    return {
        "id": str(key),
        "child_id": str(CHILD),
        "scheduled_for": None,
        "held_on": _on("2016-02-01", 20 * label) if label % 4 else None,
        "series_started_on": None,
        "period_started_on": None,
        "sequence": None,
        "due_by": None,
        "in_timescale": None,
        "participation_code": f"PN{1 + label % 7}",
        "views_method": "in_person",
        "late_reason": None,
        "deleted": deleted,
    }


# type: (state, whether its newest state may say `deleted`)
STATES: dict[str, tuple[Callable[[uuid.UUID, int, bool], dict[str, Any]], bool]] = {
    "iro.changed": (_iro, False),
    "visit.changed": (_visit, True),
    "secure_review.changed": (_secure_review, True),
    "dispute.changed": (_dispute, True),
    "allocation.changed": (_allocations, False),
    "plan.changed": (_plans, False),
    "child.changed": (_child, True),
    "review.changed": (_review, True),
}


def scenario(event_types: list[str], seed: int) -> list[dict[str, Any]]:
    """Each aggregate's versions 1..k with varied states, plus a second event of one version
    (another state), one of them deleted at its newest for types that delete; shuffled, and
    some events repeated (the same id) later on."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for event_type in event_types:
        state, deletes = STATES[event_type]
        for s in range(SUBJECTS):
            subject = uuid.uuid5(uuid.UUID(int=seed), f"{event_type}-{s}")
            if event_type == "child.changed" and s == 0:
                subject = CHILD  # the child of the reviews
            top = rng.randint(2, 5)
            for version in range(1, top + 1):
                gone = deletes and s == 1 and version == top
                label = rng.randrange(1000)
                events.append(_event(event_type, subject, version, state(subject, label, gone), 0))
            tie = rng.randint(1, top)  # a second state of one version: the first to arrive wins
            label = rng.randrange(1000)
            events.append(_event(event_type, subject, tie, state(subject, label, False), 0))
    rng.shuffle(events)
    for _ in range(len(events) // 4):  # the same event again, later
        at = rng.randrange(len(events))
        events.insert(rng.randrange(at, len(events) + 1), events[at])
    # Each event's time is that of its first arrival.
    at: dict[str, str] = {}
    for e in events:
        at.setdefault(e["id"], (datetime(2026, 11, 26, 9) + timedelta(minutes=len(at))).isoformat())
    return [{**e, "time": at[e["id"]] + "Z"} for e in events]


def winners(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each aggregate's newest event; of equal versions the first to arrive."""
    kept: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        key = (e["type"], e["subject"])
        if key not in kept or e["data"]["version"] > kept[key]["data"]["version"]:
            kept[key] = e
    return list(kept.values())


def by_version(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: e["data"]["version"])  # stable: ties keep arrival order


# --- applying and reading -------------------------------------------------------------------


class Spy:
    """The batch handlers, recording which types they applied and any error they raised (on
    which the inbox would fall back to applying event by event)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.errors: list[BaseException] = []

    def wrap(self, handlers_: dict[str, BatchHandler]) -> dict[str, BatchHandler]:
        def wrapped(event_type: str, handler: BatchHandler) -> BatchHandler:
            async def handle(session: Any, events: list[CloudEvent]) -> None:
                self.calls.append((event_type, len(events)))
                try:
                    await handler(session, events)
                except BaseException as exc:
                    self.errors.append(exc)
                    raise

            return handle

        return {t: wrapped(t, h) for t, h in handlers_.items()}


async def _apply_batches(url: str, batches: list[list[dict[str, Any]]], spy: Spy) -> list[str]:
    database = Database(url)
    statuses: list[str] = []
    try:
        for batch in batches:
            async with database.transaction() as session:
                results = await receive_batch(
                    session,
                    EVENT_TABLES,
                    handlers(RULES),
                    [CloudEvent.model_validate(e) for e in batch],
                    spy.wrap(batch_handlers(RULES)),
                )
            statuses += [r.status for r in results]
    finally:
        await database.dispose()
    return statuses


async def _apply_one_by_one(url: str, events: list[dict[str, Any]]) -> list[str]:
    database = Database(url)
    statuses: list[str] = []
    try:
        for e in events:
            async with database.transaction() as session:
                result = await receive(
                    session, EVENT_TABLES, handlers(RULES), CloudEvent.model_validate(e)
                )
            statuses.append(result.status)
    finally:
        await database.dispose()
    return statuses


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    return value


async def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    database = Database(url)
    try:
        async with database.sessions() as session:
            return {
                table.name: sorted(
                    (tuple(_plain(v) for v in row) for row in await session.execute(select(table))),
                    key=repr,
                )
                for table in PROJECTIONS
            }
    finally:
        await database.dispose()


async def _facts(url: str) -> dict[str, set[tuple[Any, ...]]]:
    """A few columns of each table, to hold against the winning events' states."""
    queries = {
        "iro": select(iro.c.id, iro.c.name),
        "visit": select(visit.c.id, visit.c.visited_on),
        "secure_review": select(secure_review.c.id, secure_review.c.panel_size),
        "dispute": select(dispute.c.id, dispute.c.reference, dispute.c.themes),
        "dispute_action": select(dispute_action.c.dispute_id, dispute_action.c.version),
        "allocation": select(allocation.c.child_id, allocation.c.id, allocation.c.iro_id),
        "plan_date": select(plan_date.c.child_id, plan_date.c.kind, plan_date.c.dated_on),
        "child": select(child.c.id, child.c.name),
        "review": select(review.c.id, review.c.participation_code),
    }
    database = Database(url)
    try:
        async with database.sessions() as session:
            facts = {}
            for name, query in queries.items():
                rows = await session.execute(query)
                facts[name] = {
                    tuple(repr(v) if isinstance(v, list) else v for v in row) for row in rows
                }
            return facts
    finally:
        await database.dispose()


def _expected_facts(events: list[dict[str, Any]]) -> dict[str, set[tuple[Any, ...]]]:
    facts: dict[str, set[tuple[Any, ...]]] = {
        name: set()
        for name in (
            "iro",
            "visit",
            "secure_review",
            "dispute",
            "dispute_action",
            "allocation",
            "plan_date",
            "child",
            "review",
        )
    }
    day, key = date.fromisoformat, uuid.UUID
    for e in winners(events):
        d = e["data"]
        if d.get("deleted"):
            continue
        match e["type"]:
            case "iro.changed":
                facts["iro"].add((key(d["id"]), d["name"]))
            case "visit.changed":
                facts["visit"].add((key(d["id"]), day(d["visited_on"])))
            case "secure_review.changed":
                facts["secure_review"].add((key(d["id"]), d["panel_size"]))
            case "dispute.changed":
                facts["dispute"].add((key(d["id"]), d["reference"], repr(d["themes"])))
                facts["dispute_action"] |= {(key(d["id"]), a["version"]) for a in d["history"]}
            case "allocation.changed":
                facts["allocation"] |= {
                    (key(d["child_id"]), key(a["id"]), key(a["iro_id"])) for a in d["allocations"]
                }
            case "plan.changed":
                facts["plan_date"] |= {
                    (key(d["child_id"]), p["kind"], day(p["dated_on"])) for p in d["plan_dates"]
                }
            case "child.changed":
                facts["child"].add((key(d["id"]), f"{d['given_name']} {d['family_name']}"))
            case "review.changed":
                if d["held_on"]:
                    facts["review"].add((key(d["id"]), d["participation_code"]))
    return facts


@pytest.fixture
def databases(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Three migrated databases of the run's kind: for the batches, for the events one at a
    time, and for the winners only."""
    with ExitStack() as stack:
        urls = [database_url]
        urls += [stack.enter_context(empty_database(tmp_path, f"{n}.db")) for n in ("b", "c")]
        for url in urls:
            upgrade_to_head(SPEC.script_location, url)
        yield urls


def check(urls: list[str], events: list[dict[str, Any]], batches: list[list[dict[str, Any]]]):
    batched, one_by_one, only_winners = urls
    spy = Spy()
    statuses = asyncio.run(_apply_batches(batched, batches, spy))
    assert set(statuses) <= {"applied", "duplicate"}
    assert spy.errors == []  # no fallback to event by event
    assert statuses.count("applied") == len({e["id"] for e in events})
    in_order = asyncio.run(_apply_one_by_one(one_by_one, by_version(events)))
    assert sorted(in_order) == sorted(statuses)
    asyncio.run(_apply_one_by_one(only_winners, by_version(winners(events))))

    got = asyncio.run(_rows(batched))
    assert got == asyncio.run(_rows(one_by_one))
    expected = asyncio.run(_rows(only_winners))
    del got["producer_progress"], expected["producer_progress"]  # it counts every event
    assert got == expected

    newest = {(e["type"], e["subject"]): e["data"]["version"] for e in winners(events)}
    assert {(t, s): v for t, s, v in got["projection_version"]} == newest
    assert asyncio.run(_facts(batched)) == _expected_facts(events)  # the winners' states
    return spy


@pytest.mark.parametrize("event_type", list(STATES))
def test_one_batch_out_of_order_and_repeated(databases: list[str], event_type: str) -> None:
    events = scenario([event_type], seed=1)
    if event_type == "review.changed":  # the reviews' child, so they have a chain of dues
        events.insert(0, _event("child.changed", CHILD, 1, _child(CHILD, 1, False), 0))
    spy = check(databases, events, [events])
    if event_type in batch_handlers(RULES):  # the set-based types: one call, every event
        assert spy.calls == [(event_type, len({e["id"] for e in events}))]


@pytest.mark.parametrize("event_type", list(STATES))
def test_a_second_batch_stale_against_the_first(databases: list[str], event_type: str) -> None:
    """The newest versions committed first; then the older ones, and the same events again."""
    events = scenario([event_type], seed=2)
    first = winners(events)
    second = [e for e in events if e not in first] + first[::2]
    random.Random(3).shuffle(second)
    check(databases, first + second, [first, second])


@pytest.mark.parametrize("seed", [4, 5])
def test_every_type_in_one_mixed_batch(databases: list[str], seed: int) -> None:
    events = scenario(list(STATES), seed=seed)
    half = len(events) // 2
    check(databases, events, [events[:half], events[half:]])


def test_the_scenarios_hold_what_they_test() -> None:
    events = scenario(list(STATES), seed=4)
    ids = [e["id"] for e in events]
    assert len(ids) > len(set(ids))  # the same event twice
    seen: dict[tuple[str, str], list[int]] = {}
    for e in events:
        seen.setdefault((e["type"], e["subject"]), []).append(e["data"]["version"])
    assert any(v != sorted(v) for v in seen.values())  # an older version after a newer
    assert all(len(set(v)) < len(v) for v in seen.values())  # equal versions in each
    assert any(e["data"].get("deleted") for e in winners(events))


def test_one_statement_text_whatever_the_batch_size(databases: list[str]) -> None:
    """Batches of 3 and of 7 events of each set-based type send the same INSERT texts, so each
    is compiled (and on PostgreSQL prepared) once. (SQLite's RETURNING executemany is sent as
    rows of VALUES, so its version upsert is left out there.)"""
    texts: dict[str, set[str]] = {}

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO"):
            texts.setdefault(statement.split(None, 3)[2], set()).add(statement)

    async def run(url: str) -> None:
        database = Database(url)
        sa_event.listen(database.engine.sync_engine, "before_cursor_execute", record)
        try:
            for size in (3, 7):
                events = [
                    _event(t, s, 1, STATES[t][0](s, n, False), n)
                    for t in batch_handlers(RULES)
                    for n, s in enumerate(uuid.uuid4() for _ in range(size))
                ]
                async with database.transaction() as session:
                    results = await receive_batch(
                        session,
                        EVENT_TABLES,
                        handlers(RULES),
                        [CloudEvent.model_validate(e) for e in events],
                        batch_handlers(RULES),
                    )
                assert {r.status for r in results} == {"applied"}
        finally:
            await database.dispose()

    url = databases[0]
    asyncio.run(run(url))
    if url.startswith("sqlite"):
        del texts["projection_version"]
    assert {"iro", "visit", "secure_review", "dispute", "dispute_action", "allocation"} <= set(
        texts
    )
    assert {name: len(sent) for name, sent in texts.items()} == {name: 1 for name in texts}
