"""Applying events to the read models: each event replaces its aggregate's rows.

Events carry the whole state of an aggregate (ARCHITECTURE.md), so applying one is: check that
its version is newer than the one applied, delete the aggregate's rows, insert its state. A
deletion (`deleted: true`) leaves no rows, so the record drops out of every figure. Whenever a
child's episodes or held reviews change, its chain of review due dates is worked out again.

Set-based where a type's rows are replaced by key (IROs, visits, secure reviews, disputes,
allocations and plan dates): a batch's events of the type are reduced to the newest of each
subject, their versions recorded with one `INSERT ... ON CONFLICT DO UPDATE ... WHERE
projection_version.version < excluded.version RETURNING subject` (the subjects that were
newer), and those subjects' rows replaced with a statement or two per table. The rows hold no
version of their own: `projection_version` is the version, so no migration. `child.changed`
and `review.changed` stay per event: each works the child's review chain (`review_due`) out
again from what is committed, under a lock per child. No type's rows depend on another type's
but for those two, which keep their order, so applying a set-based type as one group is the
same as applying its events in turn. Every handler records the producer's progress with one
upsert.

The versions, the progress and the set-based rows are written through the kit's
`insert_rows`: on PostgreSQL `INSERT ... SELECT unnest(:arrays)`, one statement text whatever
the number of rows, so it is compiled (and prepared by asyncpg) once; on SQLite an
executemany of the one-row INSERT. A multi-row `VALUES` was compiled anew for every batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, case, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import id_in
from iro_kit.events import CloudEvent
from iro_kit.events.inbox import BatchHandler, chunks, insert_rows, newest
from iro_kit.schedule import EpisodeFacts, ReviewFacts, ScheduleRules, periods_of_care
from scorecard_api.models import (
    allocation,
    child,
    dispute,
    dispute_action,
    episode,
    iro,
    plan_date,
    producer_progress,
    projection_version,
    review,
    review_due,
    secure_review,
    visit,
)
from scorecard_api.projections.dues import review_dues

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
Apply = Callable[[AsyncSession, dict[str, Any], ScheduleRules], Awaitable[None]]
ApplyMany = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]


def as_utc(moment: datetime) -> datetime:
    """SQLite gives timestamps back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _id(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


async def _newer(session: AsyncSession, events: list[CloudEvent]) -> list[CloudEvent]:
    """Of these events, the newest of each aggregate whose version is newer than the one
    applied (in the order the aggregates first arrive); their versions are recorded in one
    statement.

    The upsert is conditional, so two versions applied at once cannot leave the older one
    recorded: the later writer waits for the first's row and re-checks `version < excluded`
    against what it committed (PostgreSQL), and only rows it wrote come back.
    """
    latest = newest(events, lambda e: (e.type, e.subject))
    rows = sorted(
        (
            {"event_type": t, "subject": subject, "version": int(e.data["version"])}
            for (t, subject), e in latest.items()
        ),
        key=lambda r: (r["event_type"], r["subject"]),  # one lock order everywhere
    )
    pv = projection_version

    def newer_only(statement: Any) -> Any:
        return statement.on_conflict_do_update(
            index_elements=[pv.c.event_type, pv.c.subject],
            set_={"version": statement.excluded.version},
            where=pv.c.version < statement.excluded.version,
        ).returning(pv.c.event_type, pv.c.subject)

    result = await insert_rows(session, pv, rows, newer_only)
    written = {(t, subject) for t, subject in result} if result is not None else set()
    return [e for key, e in latest.items() if key in written]


async def _one_writer_per_child(session: AsyncSession, *children: uuid.UUID) -> None:
    """Events that rework a child's review chain take turns, so each works it out from what
    the other committed (PostgreSQL; SQLite runs one write transaction at a time)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for child_id in sorted(children):  # one order everywhere: no deadlock between two children
        key = int.from_bytes(child_id.bytes[:8], "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(key)))


async def _record_progress(session: AsyncSession, events: list[CloudEvent]) -> None:
    """The newest event applied from each producer: how far the facts are complete. One
    upsert, which adds to the count and keeps the later time and higher version."""
    progress: dict[str, dict[str, Any]] = {}
    for event in events:
        source = event.source.strip("/")
        at = as_utc(datetime.fromisoformat(event.time)).astimezone(UTC)
        version = int(event.data["version"])
        held = progress.get(source)
        if held is None:
            progress[source] = {
                "source": source,
                "last_event_at": at,
                "last_version": version,
                "events_applied": 1,
            }
        else:
            held["last_event_at"] = max(held["last_event_at"], at)
            held["last_version"] = max(held["last_version"], version)
            held["events_applied"] += 1
    if not progress:
        return
    pp = producer_progress

    def accumulate(statement: Any) -> Any:
        new = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=[pp.c.source],
            set_={
                "last_event_at": case(
                    (
                        pp.c.last_event_at.is_(None) | (pp.c.last_event_at < new.last_event_at),
                        new.last_event_at,
                    ),
                    else_=pp.c.last_event_at,
                ),
                "last_version": case(
                    (pp.c.last_version < new.last_version, new.last_version),
                    else_=pp.c.last_version,
                ),
                "events_applied": pp.c.events_applied + new.events_applied,
            },
        )

    rows = sorted(progress.values(), key=lambda r: r["source"])
    await insert_rows(session, pp, rows, accumulate)


async def refresh_dues(session: AsyncSession, child_id: uuid.UUID, rules: ScheduleRules) -> None:
    """Work out the child's chain of review due dates again from its episodes and reviews."""
    episodes = [
        EpisodeFacts(r.start_on, r.end_on, r.legal_status, r.reason_new_episode)
        for r in await session.execute(
            select(episode).where(episode.c.child_id == child_id).order_by(episode.c.start_on)
        )
    ]
    reviews = [
        ReviewFacts(r.held_on, key=r.id)
        for r in await session.execute(
            select(review.c.id, review.c.held_on).where(
                review.c.child_id == child_id, review.c.held_on.is_not(None)
            )
        )
    ]
    await session.execute(delete(review_due).where(review_due.c.child_id == child_id))
    dues = review_dues(episodes, reviews, rules)
    if dues:
        await session.execute(
            insert(review_due), [{"child_id": child_id, **asdict(due)} for due in dues]
        )


async def _child(session: AsyncSession, data: dict[str, Any], rules: ScheduleRules) -> None:
    child_id = uuid.UUID(data["id"])
    await _one_writer_per_child(session, child_id)
    await session.execute(delete(episode).where(episode.c.child_id == child_id))
    await session.execute(delete(child).where(child.c.id == child_id))
    if not data.get("deleted"):
        names = [data.get("given_name"), data.get("family_name")]
        await session.execute(
            insert(child).values(
                id=child_id,
                external_id=data["external_id"],
                name=" ".join(n for n in names if n) or None,
                date_of_birth=date.fromisoformat(data["date_of_birth"]),
            )
        )
        await _insert_episodes(session, child_id, data)
    await refresh_dues(session, child_id, rules)


async def _insert_episodes(
    session: AsyncSession, child_id: uuid.UUID, data: dict[str, Any]
) -> None:
    states = [e for period in data.get("periods_of_care", []) for e in period["episodes"]]
    facts = {
        state["id"]: EpisodeFacts(
            date.fromisoformat(state["start_on"]),
            _day(state.get("end_on")),
            state["legal_status"],
            state.get("reason_new_episode"),
        )
        for state in states
    }
    # Periods with the kit's rule, as reviews-api groups them (its `periods_of_care` too).
    period_of = {}
    for period in periods_of_care(facts.values()):
        for member in period.episodes:
            period_of[id(member)] = period.start
    rows = [
        {
            "id": uuid.UUID(key),
            "child_id": child_id,
            "start_on": fact.start,
            "end_on": fact.end,
            "legal_status": fact.legal_status,
            "reason_new_episode": fact.reason_new_episode,
            "period_start_on": period_of[id(fact)],
        }
        for key, fact in facts.items()
    ]
    if rows:
        await session.execute(insert(episode), rows)


async def _review(session: AsyncSession, data: dict[str, Any], rules: ScheduleRules) -> None:
    review_id = uuid.UUID(data["id"])
    child_id = uuid.UUID(data["child_id"])
    before = await session.scalar(select(review.c.child_id).where(review.c.id == review_id))
    await _one_writer_per_child(session, *({child_id, before} - {None}))  # type: ignore[arg-type]
    await session.execute(delete(review).where(review.c.id == review_id))
    if not data.get("deleted") and data.get("held_on"):
        await session.execute(
            insert(review).values(
                id=review_id,
                child_id=child_id,
                held_on=_day(data["held_on"]),
                due_by=_day(data.get("due_by")),
                sequence=data.get("sequence"),
                in_timescale=data.get("in_timescale"),
                participation_code=data.get("participation_code"),
                views_method=data.get("views_method"),
                late_reason=data.get("late_reason"),
            )
        )
    for changed in {child_id, before} - {None}:
        await refresh_dues(session, changed, rules)  # type: ignore[arg-type]


async def _replace_by_id(
    session: AsyncSession, table: Table, states: list[dict[str, Any]], row: Callable[..., Any]
) -> None:
    """Each state's row replaced (an upsert by id), or removed when it says `deleted`."""
    gone = [uuid.UUID(d["id"]) for d in states if d.get("deleted")]
    for chunk in chunks(gone):
        await session.execute(delete(table).where(id_in(session, table.c.id, chunk)))
    rows = sorted((row(d) for d in states if not d.get("deleted")), key=lambda r: r["id"])
    names = [name for name in rows[0] if name != "id"] if rows else []

    def replace(statement: Any) -> Any:
        return statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={name: statement.excluded[name] for name in names},
        )

    await insert_rows(session, table, rows, replace)


async def _delete_where_in(session: AsyncSession, column: Any, keys: list[uuid.UUID]) -> None:
    for chunk in chunks(keys):
        await session.execute(delete(column.table).where(id_in(session, column, chunk)))


def _visit_row(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": uuid.UUID(data["id"]),
        "child_id": uuid.UUID(data["child_id"]),
        "kind": data["kind"],
        "visited_on": date.fromisoformat(data["visited_on"]),
        "iro_id": _id(data.get("iro_id")),
    }


def _iro_row(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": uuid.UUID(data["id"]),
        "name": data["name"],
        "fte": float(data["fte"]),
        "start_on": date.fromisoformat(data["in_post_from"]),
        "end_on": _day(data.get("in_post_to")),
    }


def _secure_review_row(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": uuid.UUID(data["id"]),
        "child_id": uuid.UUID(data["child_id"]),
        "placement_id": uuid.UUID(data["placement_id"]),
        "held_on": date.fromisoformat(data["held_on"]),
        "due_by": date.fromisoformat(data["due_by"]),
        "in_timescale": bool(data["in_timescale"]),
        "panel_size": int(data["panel_size"]),
        "independent_members": int(data["independent_members"]),
    }


def _dispute_row(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": uuid.UUID(data["id"]),
        "reference": data["reference"],
        "child_id": uuid.UUID(data["child_id"]),
        "iro_id": uuid.UUID(data["iro_id"]),
        "category": data["category"],
        "themes": list(data.get("themes", [])),
        "raised_on": date.fromisoformat(data["raised_on"]),
        "overall_due_by": date.fromisoformat(data["overall_due_by"]),
    }


async def _visits(session: AsyncSession, states: list[dict[str, Any]]) -> None:
    await _replace_by_id(session, visit, states, _visit_row)


async def _iros(session: AsyncSession, states: list[dict[str, Any]]) -> None:
    await _replace_by_id(session, iro, states, _iro_row)


async def _secure_reviews(session: AsyncSession, states: list[dict[str, Any]]) -> None:
    await _replace_by_id(session, secure_review, states, _secure_review_row)


async def _plans(session: AsyncSession, states: list[dict[str, Any]]) -> None:
    """Each child's plan dates replaced by its newest set."""
    children = [uuid.UUID(d["child_id"]) for d in states]
    await _delete_where_in(session, plan_date.c.child_id, children)
    rows = {
        (child_id, p["kind"], p["dated_on"]): {
            "child_id": child_id,
            "kind": p["kind"],
            "dated_on": date.fromisoformat(p["dated_on"]),
        }
        for child_id, d in zip(children, states, strict=True)
        for p in d.get("plan_dates", [])
    }
    await insert_rows(session, plan_date, list(rows.values()))


async def _allocations(session: AsyncSession, states: list[dict[str, Any]]) -> None:
    """Each child's allocations replaced by its newest set."""
    children = [uuid.UUID(d["child_id"]) for d in states]
    await _delete_where_in(session, allocation.c.child_id, children)
    rows = [
        {
            "id": uuid.UUID(a["id"]),
            "child_id": child_id,
            "iro_id": uuid.UUID(a["iro_id"]),
            "start_on": date.fromisoformat(a["from_on"]),
            "end_on": _day(a.get("to_on")),
        }
        for child_id, d in zip(children, states, strict=True)
        for a in d.get("allocations", [])
    ]
    await insert_rows(session, allocation, rows)


async def _disputes(session: AsyncSession, states: list[dict[str, Any]]) -> None:
    """Each dispute and its history replaced; a deleted one leaves no rows."""
    await _delete_where_in(
        session, dispute_action.c.dispute_id, [uuid.UUID(d["id"]) for d in states]
    )
    await _replace_by_id(session, dispute, states, _dispute_row)
    actions = [
        {
            "dispute_id": uuid.UUID(d["id"]),
            "version": int(a["version"]),
            "action": a["action"],
            "happened_on": date.fromisoformat(a["happened_on"]),
            "stage": int(a["stage"]),
            "status": a["status"],
            "stage_due_by": _day(a.get("stage_due_by")),
        }
        for d in states
        if not d.get("deleted")
        for a in d.get("history", [])
    ]
    await insert_rows(session, dispute_action, actions)


# Per event: each reworks a child's review chain from what is committed.
APPLY: Mapping[str, Apply] = {
    "child.changed": _child,
    "review.changed": _review,
}
# Set-based: a type's newer states at once (a batch's, or one event's).
APPLY_MANY: Mapping[str, ApplyMany] = {
    "iro.changed": _iros,
    "allocation.changed": _allocations,
    "visit.changed": _visits,
    "plan.changed": _plans,
    "secure_review.changed": _secure_reviews,
    "dispute.changed": _disputes,
}


def handlers(rules: ScheduleRules) -> dict[str, Handler]:
    """The inbox's handler for every event type the scorecard projects."""

    def handler_for(apply: Apply) -> Handler:
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            if await _newer(session, [event]):
                await apply(session, event.data, rules)
            await _record_progress(session, [event])

        return handle

    batched = batch_handlers(rules)

    def one_of(event_type: str) -> Handler:
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            await batched[event_type](session, [event])

        return handle

    return {
        **{event_type: handler_for(apply) for event_type, apply in APPLY.items()},
        **{event_type: one_of(event_type) for event_type in APPLY_MANY},
    }


def batch_handlers(rules: ScheduleRules) -> dict[str, BatchHandler]:
    """The inbox's batch handler for each set-based type: its events of a batch at once."""

    def batch_for(apply: ApplyMany) -> BatchHandler:
        async def handle(session: AsyncSession, events: list[CloudEvent]) -> None:
            fresh = await _newer(session, events)
            if fresh:
                await apply(session, [e.data for e in fresh])
            await _record_progress(session, events)

        return handle

    return {event_type: batch_for(apply) for event_type, apply in APPLY_MANY.items()}
