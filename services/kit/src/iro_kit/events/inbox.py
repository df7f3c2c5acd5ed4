"""Receiving events: record `(source, id)` and apply the event in one transaction.

A duplicate is acknowledged and changes nothing. A batch is applied in one savepoint; when
one of its events fails, each is applied again in its own savepoint, so the one that fails is
reported (and retried by the relay) without losing the rest.

Set-based consumers: besides its per-event `Handler`, a type may have a `BatchHandler`, called
once per batch with all of that type's fresh events (in arrival order), so that it can apply
them with a statement per table rather than statements per event. A type with a batch handler
must still have a per-event handler: `receive` (one event, and the fallback that finds the
failing event of a batch) uses it, and it is what makes the type `applied` and not `ignored`.
A batch handler's effect must not depend on events of other types in the same batch: the
inbox calls it where that type's first fresh event arrives, so its later events move ahead
of other types' events. Per-event handlers are still called in arrival order.
"""

from __future__ import annotations

from collections import Counter as Counter_
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Depends, Request, Response
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import (
    ARRAY,
    JSON,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.auth import Principal, Role, require_roles
from iro_kit.db import SessionDep, id_in
from iro_kit.errors import Forbidden, Unprocessable, problem_responses
from iro_kit.events.envelope import CloudEvent
from iro_kit.events.tables import EventTables
from iro_kit.logging import get_logger

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, list[CloudEvent]], Awaitable[None]]
_log = get_logger("iro_kit.inbox")
_K = TypeVar("_K", bound=Hashable)

# Rows per multi-row INSERT: well inside PostgreSQL's 32,767 bind parameters (and SQLite's
# 32,766) for the tables here; a relay batch (200 by default) is one statement.
CHUNK_ROWS = 1000


def upsert_insert(session: AsyncSession, table: Table) -> Any:
    """`insert(table)` of the session's dialect, which has `on_conflict_do_update/nothing`."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no INSERT ... ON CONFLICT for {name}")


async def insert_rows(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    conflict: Callable[[Any], Any] | None = None,
) -> Result[Any] | None:
    """INSERT `rows` (dicts with the same keys) in one statement, compiled once and cached.

    On PostgreSQL: `INSERT ... SELECT unnest(:a), unnest(:b), ...`, one array parameter per
    column, so the statement's text (and asyncpg's prepared statement) is the same whatever
    the number of rows; elsewhere an executemany of the one-row INSERT. A multi-row `VALUES`
    would be compiled anew for every batch. `conflict(statement)` may add an ON CONFLICT
    clause to the dialect's insert (`statement.excluded` names the proposed row), and a
    RETURNING clause, whose rows the returned result holds (None when there are no rows)."""
    if not rows:
        return None
    names = list(rows[0])
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        arrays: dict[str, list[Any]] = {}
        unnested = []
        for n in names:
            column, arrays[f"u_{n}"] = _unnested(table, n, [row[n] for row in rows], dialect)
            unnested.append(column)
        statement = postgresql.insert(table).from_select(names, select(*unnested))
        if conflict is not None:
            statement = conflict(statement)
        return await session.execute(statement, arrays)
    if conflict is None:
        return await session.execute(insert(table), rows)
    return await session.execute(conflict(upsert_insert(session, table)), rows)


def _unnested(table: Table, name: str, values: list[Any], dialect: Any) -> tuple[Any, list[Any]]:
    """`unnest(:u_<name>)` for one column, and the array bound to it. A JSON column's values
    are lists or dicts, which an array parameter would take as dimensions of the array: they
    go as text, serialised by the column type itself, and are cast back to it."""
    column_type = table.c[name].type
    if isinstance(column_type, JSON):
        serialise = column_type.dialect_impl(dialect).bind_processor(dialect)
        texts = [serialise(v) for v in values] if serialise else values
        array = func.unnest(bindparam(f"u_{name}", type_=ARRAY(Text)))
        return cast(array, column_type), texts
    return func.unnest(bindparam(f"u_{name}", type_=ARRAY(column_type))), values


def chunks(rows: list[Any], size: int = CHUNK_ROWS) -> Iterable[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def newest(events: Iterable[CloudEvent], key: Callable[[CloudEvent], _K]) -> dict[_K, CloudEvent]:
    """The newest version (`data.version`) of each key, as applying them one by one would
    leave it: a later event replaces an earlier only when its version is higher, so of equal
    versions the first wins. (ON CONFLICT cannot touch one row twice in a statement.)"""
    kept: dict[_K, CloudEvent] = {}
    for event in events:
        k = key(event)
        held = kept.get(k)
        if held is None or int(event.data["version"]) > int(held.data["version"]):
            kept[k] = event
    return kept


class EventResult(BaseModel):
    id: str
    status: Literal["applied", "duplicate", "ignored", "failed"]
    error: str | None = None


class EventResults(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "results": [
                    {
                        "id": "6d3f0a0e-1f59-4a43-9a2e-8d1c9a0b7c11",
                        "status": "applied",
                        "error": None,
                    },
                    {
                        "id": "c81a2f4e-9b7d-4c3a-8e1f-5a6b7c8d9e0f",
                        "status": "duplicate",
                        "error": None,
                    },
                ]
            }
        }
    )
    results: list[EventResult]


_IRO_CHANGED = {
    "specversion": "1.0",
    "id": "6d3f0a0e-1f59-4a43-9a2e-8d1c9a0b7c11",
    "source": "/reviews-api",
    "type": "iro.changed",
    "subject": "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b",
    "time": "2026-12-02T10:14:58.402318Z",
    "datacontenttype": "application/json",
    "requestid": "7d0e4c3b9a1f4f6e8c2d5b1a0e9f8d7c",
    "data": {
        "version": 2,
        "id": "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b",
        "name": "Alex Morgan",
        "email": "alex.morgan@example.gov.uk",
        "fte": 1.0,
        "in_post_from": "2015-09-01",
        "in_post_to": None,
    },
}
_VISIT_CHANGED = {
    **_IRO_CHANGED,
    "id": "c81a2f4e-9b7d-4c3a-8e1f-5a6b7c8d9e0f",
    "type": "visit.changed",
    "subject": "5a7c9e1f-3b5d-4f7a-9c1e-3f5a7c9e1b3d",
    "data": {
        "version": 1,
        "id": "5a7c9e1f-3b5d-4f7a-9c1e-3f5a7c9e1b3d",
        "child_id": "0b5c1a3e-8a52-4c8e-9d0a-6f1f7e0b2a11",
        "kind": "pre_review",
        "visited_on": "2017-02-01",
        "iro_id": "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b",
        "deleted": False,
    },
}
EVENT_EXAMPLES: dict[str, Any] = {
    "event": {"summary": "One event", "value": _IRO_CHANGED},
    "batch": {"summary": "A batch, as the relay sends", "value": [_IRO_CHANGED, _VISIT_CHANGED]},
}


async def receive(
    session: AsyncSession, tables: EventTables, handlers: Mapping[str, Handler], event: CloudEvent
) -> EventResult:
    """Apply one event exactly once: inbox row and projection in one savepoint."""
    inbox = tables.inbox
    seen = await session.scalar(
        select(inbox.c.event_id).where(inbox.c.source == event.source, inbox.c.event_id == event.id)
    )
    if seen is not None:
        return EventResult(id=event.id, status="duplicate")
    handler = handlers.get(event.type)
    try:
        async with session.begin_nested():
            await session.execute(
                insert(inbox).values(
                    source=event.source,
                    event_id=event.id,
                    type=event.type,
                    received_at=datetime.now(UTC),
                )
            )
            if handler is not None:
                await handler(session, event)
    except Exception as exc:  # reported per event; the relay retries it
        _log.warning("event_failed", event_type=event.type, error_type=type(exc).__name__)
        return EventResult(id=event.id, status="failed", error=type(exc).__name__)
    return EventResult(id=event.id, status="applied" if handler else "ignored")


async def _apply_fresh(
    session: AsyncSession,
    handlers: Mapping[str, Handler],
    batch_handlers: Mapping[str, BatchHandler],
    events: list[CloudEvent],
) -> None:
    """Per-event handlers in arrival order; each batch handler once, at its type's first."""
    grouped: dict[str, list[CloudEvent]] = {}
    for event in events:
        if event.type in batch_handlers and event.type in handlers:
            grouped.setdefault(event.type, []).append(event)
    called: set[str] = set()
    for event in events:
        if event.type in grouped:
            if event.type not in called:
                called.add(event.type)
                await batch_handlers[event.type](session, grouped[event.type])
        elif (handler := handlers.get(event.type)) is not None:
            await handler(session, event)


def seen_statement(inbox: Table) -> Any:
    """PostgreSQL's look-up of `(source, event_id)` pairs (parameters `sources` and `ids`, two
    arrays of one length) in the inbox: a probe of its primary key per pair, whatever the
    planner's statistics say. On a young inbox, never analyzed, `source = :s AND event_id =
    ANY(:ids)` is planned as a scan of every row of the source, each tested against the whole
    list, and `event_id = ANY(:ids)` alone (the key's second column) scans the whole inbox:
    costs growing with every event it ever received."""
    keys = (
        func.unnest(
            bindparam("sources", type_=ARRAY(inbox.c.source.type)),
            bindparam("ids", type_=ARRAY(inbox.c.event_id.type)),
        )
        .table_valued("source", "event_id")
        .render_derived(name="k")
    )
    hit = (
        select(inbox.c.source, inbox.c.event_id)
        .where(inbox.c.source == keys.c.source, inbox.c.event_id == keys.c.event_id)
        .limit(1)
        .lateral("i")
    )
    return select(hit.c.source, hit.c.event_id).select_from(keys.join(hit, true()))


async def _seen(
    session: AsyncSession, inbox: Table, events: list[CloudEvent]
) -> set[tuple[str, str]]:
    """The `(source, id)` of the events already in the inbox, looked up by its primary key."""
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(
            seen_statement(inbox),
            {"sources": [e.source for e in events], "ids": [e.id for e in events]},
        )
        return {(source, event_id) for source, event_id in rows}
    by_source: dict[str, list[str]] = {}
    for event in events:
        by_source.setdefault(event.source, []).append(event.id)
    rows = await session.execute(
        select(inbox.c.source, inbox.c.event_id).where(
            or_(
                *(
                    and_(inbox.c.source == source, id_in(session, inbox.c.event_id, ids))
                    for source, ids in by_source.items()
                )
            )
        )
    )
    return {(source, event_id) for source, event_id in rows}


async def receive_batch(
    session: AsyncSession,
    tables: EventTables,
    handlers: Mapping[str, Handler],
    events: list[CloudEvent],
    batch_handlers: Mapping[str, BatchHandler] | None = None,
) -> list[EventResult]:
    """Apply a batch: in one savepoint when every event applies, else event by event.

    The fresh events' inbox rows are one INSERT; a type with a batch handler is applied by
    one call of it, the others by their handler per event."""
    if not events:
        return []
    inbox = tables.inbox
    seen = await _seen(session, inbox, events)
    fresh: dict[tuple[str, str], CloudEvent] = {}
    for event in events:
        if (event.source, event.id) not in seen:
            fresh.setdefault((event.source, event.id), event)
    try:
        async with session.begin_nested():
            now = datetime.now(UTC)
            rows = [
                {"source": e.source, "event_id": e.id, "type": e.type, "received_at": now}
                for e in fresh.values()
            ]
            await insert_rows(session, inbox, rows)
            await _apply_fresh(session, handlers, batch_handlers or {}, list(fresh.values()))
    except Exception:
        # One of them cannot be applied: find it, and apply the others, one savepoint each.
        return [await receive(session, tables, handlers, e) for e in events]
    results, reported = [], set()
    for event in events:
        key = (event.source, event.id)
        if key in fresh and key not in reported:
            reported.add(key)
            status = "applied" if event.type in handlers else "ignored"
            results.append(EventResult(id=event.id, status=status))
        else:
            results.append(EventResult(id=event.id, status="duplicate"))
    return results


def inbox_router(
    prefix: str,
    tables: EventTables,
    handlers: Mapping[str, Handler],
    producers: Callable[[], list[str]],
    registry: CollectorRegistry,
    batch_handlers: Mapping[str, BatchHandler] | None = None,
) -> APIRouter:
    """`POST <prefix>/events`: internal (not routed by the gateway), for producers' relays."""
    batch_handlers = dict(batch_handlers or {})
    if missing := sorted(set(batch_handlers) - set(handlers)):
        raise ValueError(f"batch handlers without a per-event handler: {missing}")
    router = APIRouter(prefix=prefix, tags=["events"])
    received = Counter(
        "inbox_events_total",
        "Events received, by outcome: applied, duplicate (seen before), ignored or failed.",
        ["type", "status"],
        registry=registry,
    )
    relay_role = require_roles(Role.integration)

    async def producer(request: Request, principal: Principal = Depends(relay_role)) -> Principal:
        if principal.subject not in producers():
            raise Forbidden("Only the platform's producing services may deliver events.")
        return principal

    @router.post(
        "/events",
        summary="Receive events (internal)",
        description="CloudEvents 1.0: one event (`application/cloudevents+json`) or a batch "
        "(`application/cloudevents-batch+json`, a JSON array). Each is recorded in the inbox and "
        "applied once; the answer lists, per event id, `applied`, `duplicate`, `ignored` (a type "
        "this service does not use) or `failed`. Not routed by the gateway. The caller must "
        "also be one of the platform's producing services (its token's subject).",
        response_model=EventResults,
        responses=problem_responses(401, 403, 422),
    )
    async def receive_events(
        session: SessionDep,
        body: Annotated[
            list[dict[str, Any]] | dict[str, Any], Body(openapi_examples=EVENT_EXAMPLES)
        ],
        _: Principal = Depends(producer),
    ) -> Response:
        raw = body if isinstance(body, list) else [body]
        try:
            events = [CloudEvent.model_validate(item) for item in raw]
        except ValidationError as exc:
            raise Unprocessable("An event is not a valid CloudEvent.") from exc
        results = await receive_batch(session, tables, handlers, events, batch_handlers)
        outcomes = Counter_(
            (event.type, result.status) for event, result in zip(events, results, strict=True)
        )
        for (event_type, status), count in outcomes.items():
            received.labels(event_type, status).inc(count)
        # Serialized here, once: returned as the model, FastAPI would validate the results
        # again against the response model before serializing them (the schema is the same).
        return Response(
            EventResults(results=results).model_dump_json(), media_type="application/json"
        )

    return router
