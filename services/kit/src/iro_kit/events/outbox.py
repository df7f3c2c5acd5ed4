"""Writing events into the outbox, in the caller's transaction and nowhere else."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.events.envelope import CloudEvent, new_event
from iro_kit.events.routing import EventRoute
from iro_kit.events.tables import EventTables

SESSION_KEY = "iro_outbox"
WROTE_KEY = "iro_outbox_wrote"


class Outbox:
    """One service's outbox: where its events go, and a signal for its relay."""

    def __init__(self, tables: EventTables, source: str, routes: list[EventRoute]) -> None:
        self.tables = tables
        self.source = source
        self.routes = routes
        self._committed = asyncio.Event()

    def rows_for(self, event: CloudEvent) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        envelope = event.model_dump(mode="json", exclude_none=True)
        return [
            {
                "id": uuid.uuid4(),
                "event_id": event.id,
                "subscriber": route.subscriber,
                "url": route.url,
                "type": event.type,
                "subject": event.subject,
                "envelope": envelope,
                "created_at": now,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for route in self.routes
            if route.wants(event.type)
        ]

    def committed(self) -> None:
        """Called after a transaction that wrote events commits: wake the relay."""
        self._committed.set()

    async def wait_for_commit(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._committed.wait(), seconds)
        self._committed.clear()


def rows_for_new_event(
    outbox: Outbox, type_: str, subject: str, state: dict[str, Any]
) -> list[dict[str, Any]]:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    return outbox.rows_for(new_event(outbox.source, type_, subject, state, request_id))


async def emit(
    session: AsyncSession, type_: str, subject: str, state: dict[str, Any]
) -> CloudEvent:
    """Add an event to the outbox in the session's open transaction.

    It is delivered only if that transaction commits: a rollback takes the event with it.
    """
    outbox: Outbox | None = session.info.get(SESSION_KEY)
    if outbox is None:
        raise RuntimeError(
            "this session has no outbox: use the request session or Database.transaction()"
        )
    if not session.in_transaction():
        raise RuntimeError("events are written inside a transaction, with the change they describe")
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    event = new_event(outbox.source, type_, subject, state, request_id)
    rows = outbox.rows_for(event)
    if rows:
        await session.execute(insert(outbox.tables.outbox), rows)
        session.info[WROTE_KEY] = True
    return event
