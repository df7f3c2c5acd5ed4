"""Applying events to the read models: each event replaces its aggregate's rows.

Events carry the whole state of an aggregate (ARCHITECTURE.md), so applying one is: check that
its version is newer than the one applied, delete the aggregate's rows, insert its state. A
deletion (`deleted: true`) leaves no rows, so the record drops out of every figure. Whenever a
child's episodes or held reviews change, its chain of review due dates is worked out again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.events import CloudEvent
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


def as_utc(moment: datetime) -> datetime:
    """SQLite gives timestamps back without their zone; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _id(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


async def _is_newer(session: AsyncSession, event: CloudEvent) -> bool:
    """Record the event's version for its aggregate if it is newer than the one applied.

    The update is conditional, so two versions applied at once cannot leave the older one
    recorded: the later writer re-checks `version < :v` against the row the first committed.
    """
    version = int(event.data["version"])
    key = (projection_version.c.event_type == event.type) & (
        projection_version.c.subject == event.subject
    )
    newer = await session.execute(
        update(projection_version)
        .where(key, projection_version.c.version < version)
        .values(version=version)
    )
    if newer.rowcount:
        return True
    if await session.scalar(select(projection_version.c.version).where(key)) is not None:
        return False
    # The aggregate's first event. Another one inserting it at the same time fails on the
    # primary key, and its relay delivers it again.
    await session.execute(
        insert(projection_version).values(
            event_type=event.type, subject=event.subject, version=version
        )
    )
    return True


async def _one_writer_per_child(session: AsyncSession, *children: uuid.UUID) -> None:
    """Events that rework a child's review chain take turns, so each works it out from what
    the other committed (PostgreSQL; SQLite runs one write transaction at a time)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for child_id in sorted(children):  # one order everywhere: no deadlock between two children
        key = int.from_bytes(child_id.bytes[:8], "big", signed=True)
        await session.execute(select(func.pg_advisory_xact_lock(key)))


async def _record_progress(session: AsyncSession, event: CloudEvent) -> None:
    """The newest event applied from its producer: how far the facts are complete."""
    source = event.source.strip("/")
    at = as_utc(datetime.fromisoformat(event.time))
    version = int(event.data["version"])
    row = (
        await session.execute(select(producer_progress).where(producer_progress.c.source == source))
    ).first()
    if row is None:
        values = {"last_event_at": at, "last_version": version, "events_applied": 1}
        await session.execute(insert(producer_progress).values(source=source, **values))
        return
    await session.execute(
        update(producer_progress)
        .where(producer_progress.c.source == source)
        .values(
            last_event_at=max(as_utc(row.last_event_at), at) if row.last_event_at else at,
            last_version=max(row.last_version, version),
            events_applied=row.events_applied + 1,
        )
    )


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


async def _visit(session: AsyncSession, data: dict[str, Any], _: ScheduleRules) -> None:
    visit_id = uuid.UUID(data["id"])
    await session.execute(delete(visit).where(visit.c.id == visit_id))
    if not data.get("deleted"):
        await session.execute(
            insert(visit).values(
                id=visit_id,
                child_id=uuid.UUID(data["child_id"]),
                kind=data["kind"],
                visited_on=date.fromisoformat(data["visited_on"]),
                iro_id=_id(data.get("iro_id")),
            )
        )


async def _plans(session: AsyncSession, data: dict[str, Any], _: ScheduleRules) -> None:
    child_id = uuid.UUID(data["child_id"])
    await session.execute(delete(plan_date).where(plan_date.c.child_id == child_id))
    rows = {
        (p["kind"], p["dated_on"]): {
            "child_id": child_id,
            "kind": p["kind"],
            "dated_on": date.fromisoformat(p["dated_on"]),
        }
        for p in data.get("plan_dates", [])
    }
    if rows:
        await session.execute(insert(plan_date), list(rows.values()))


async def _iro(session: AsyncSession, data: dict[str, Any], _: ScheduleRules) -> None:
    iro_id = uuid.UUID(data["id"])
    await session.execute(delete(iro).where(iro.c.id == iro_id))
    if not data.get("deleted"):
        await session.execute(
            insert(iro).values(
                id=iro_id,
                name=data["name"],
                fte=float(data["fte"]),
                start_on=date.fromisoformat(data["in_post_from"]),
                end_on=_day(data.get("in_post_to")),
            )
        )


async def _allocations(session: AsyncSession, data: dict[str, Any], _: ScheduleRules) -> None:
    child_id = uuid.UUID(data["child_id"])
    await session.execute(delete(allocation).where(allocation.c.child_id == child_id))
    rows = [
        {
            "id": uuid.UUID(a["id"]),
            "child_id": child_id,
            "iro_id": uuid.UUID(a["iro_id"]),
            "start_on": date.fromisoformat(a["from_on"]),
            "end_on": _day(a.get("to_on")),
        }
        for a in data.get("allocations", [])
    ]
    if rows:
        await session.execute(insert(allocation), rows)


async def _secure_review(session: AsyncSession, data: dict[str, Any], _: ScheduleRules) -> None:
    review_id = uuid.UUID(data["id"])
    await session.execute(delete(secure_review).where(secure_review.c.id == review_id))
    if not data.get("deleted"):
        await session.execute(
            insert(secure_review).values(
                id=review_id,
                child_id=uuid.UUID(data["child_id"]),
                placement_id=uuid.UUID(data["placement_id"]),
                held_on=date.fromisoformat(data["held_on"]),
                due_by=date.fromisoformat(data["due_by"]),
                in_timescale=bool(data["in_timescale"]),
                panel_size=int(data["panel_size"]),
                independent_members=int(data["independent_members"]),
            )
        )


async def _dispute(session: AsyncSession, data: dict[str, Any], _: ScheduleRules) -> None:
    dispute_id = uuid.UUID(data["id"])
    await session.execute(delete(dispute_action).where(dispute_action.c.dispute_id == dispute_id))
    await session.execute(delete(dispute).where(dispute.c.id == dispute_id))
    if data.get("deleted"):
        return
    await session.execute(
        insert(dispute).values(
            id=dispute_id,
            reference=data["reference"],
            child_id=uuid.UUID(data["child_id"]),
            iro_id=uuid.UUID(data["iro_id"]),
            category=data["category"],
            themes=list(data.get("themes", [])),
            raised_on=date.fromisoformat(data["raised_on"]),
            overall_due_by=date.fromisoformat(data["overall_due_by"]),
        )
    )
    actions = [
        {
            "dispute_id": dispute_id,
            "version": int(a["version"]),
            "action": a["action"],
            "happened_on": date.fromisoformat(a["happened_on"]),
            "stage": int(a["stage"]),
            "status": a["status"],
            "stage_due_by": _day(a.get("stage_due_by")),
        }
        for a in data.get("history", [])
    ]
    if actions:
        await session.execute(insert(dispute_action), actions)


APPLY: Mapping[str, Apply] = {
    "child.changed": _child,
    "iro.changed": _iro,
    "allocation.changed": _allocations,
    "review.changed": _review,
    "visit.changed": _visit,
    "plan.changed": _plans,
    "secure_review.changed": _secure_review,
    "dispute.changed": _dispute,
}


def handlers(rules: ScheduleRules) -> dict[str, Handler]:
    """The inbox's handler for every event type the scorecard projects."""

    def handler_for(apply: Apply) -> Handler:
        async def handle(session: AsyncSession, event: CloudEvent) -> None:
            if await _is_newer(session, event):
                await apply(session, event.data, rules)
            await _record_progress(session, event)

        return handle

    return {event_type: handler_for(apply) for event_type, apply in APPLY.items()}
