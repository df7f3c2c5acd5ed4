"""Admin routes for a service's outbox (role `admin`; not routed by the gateway)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.auth import Principal, Role, require_roles
from iro_kit.db import SessionDep
from iro_kit.errors import NotFound, problem_responses
from iro_kit.events.tables import EventTables
from iro_kit.pagination import Page, PageDep
from iro_kit.types import UtcTimestamp

Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
Snapshot = Callable[[AsyncSession], Awaitable[int]]
ERRORS = problem_responses(401, 403, 404, 422)


class Backlog(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "subscriber": "scorecard-api",
                "undelivered": 3,
                "dead_lettered": 1,
                "oldest_undelivered_at": "2026-12-02T10:14:58.402318Z",
            }
        }
    )
    subscriber: str
    undelivered: int
    dead_lettered: int
    oldest_undelivered_at: UtcTimestamp | None


class DeadLetter(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "a4e7c2d1-5b3f-4e8a-9c6d-1f2e3a4b5c6d",
                "event_id": "6d3f0a0e-1f59-4a43-9a2e-8d1c9a0b7c11",
                "subscriber": "scorecard-api",
                "type": "review.changed",
                "subject": "e2c4a6b8-0d1f-4a3c-8e5b-7d9f1a3c5e70",
                "attempts": 10,
                "last_error": "HTTP 503 from subscriber",
                "created_at": "2026-12-01T16:02:11.530318Z",
                "dead_at": "2026-12-01T17:20:45.118318Z",
            }
        }
    )
    id: uuid.UUID
    event_id: str
    subscriber: str
    type: str
    subject: str
    attempts: int
    last_error: str | None
    created_at: UtcTimestamp
    dead_at: UtcTimestamp


class Redriven(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"redriven": 1}})
    redriven: int


class Republished(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"events": 2185}})
    events: int


def admin_router(prefix: str, tables: EventTables, snapshot: Snapshot | None) -> APIRouter:
    router = APIRouter(prefix=f"{prefix}/admin", tags=["events-admin"])
    t = tables.outbox

    @router.get(
        "/outbox",
        summary="Outbox backlog per subscriber",
        description="Undelivered and dead-lettered events per subscriber, and the oldest "
        "undelivered.",
        responses=ERRORS,
    )
    async def backlog(session: SessionDep, _: Admin) -> list[Backlog]:
        pending = t.c.delivered_at.is_(None) & t.c.dead_at.is_(None)
        rows = await session.execute(
            select(
                t.c.subscriber,
                func.count().filter(pending),
                func.count().filter(t.c.dead_at.is_not(None)),
                func.min(t.c.created_at).filter(pending),
            ).group_by(t.c.subscriber)
        )
        return [
            Backlog(subscriber=s, undelivered=u, dead_lettered=d, oldest_undelivered_at=o)
            for s, u, d, o in rows
        ]

    @router.get(
        "/outbox/dead-letters",
        summary="Dead-lettered events",
        description="Events that failed every attempt, with the last error.",
        responses=ERRORS,
    )
    async def dead_letters(session: SessionDep, _: Admin, page: PageDep) -> Page[DeadLetter]:
        rows = (
            (
                await session.execute(
                    select(t)
                    .where(t.c.dead_at.is_not(None))
                    .order_by(t.c.dead_at, t.c.id)
                    .offset(page.offset)
                    .limit(page.limit + 1)
                )
            )
            .mappings()
            .all()
        )
        items = [DeadLetter.model_validate(dict(r)) for r in rows[: page.limit]]
        return page.page(items, has_more=len(rows) > page.limit)

    async def _redrive(session: AsyncSession, only: uuid.UUID | None) -> int:
        query = update(t).where(t.c.dead_at.is_not(None))
        if only is not None:
            query = query.where(t.c.id == only)
        result = await session.execute(
            query.values(dead_at=None, attempts=0, next_attempt_at=datetime.now(UTC))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    @router.post(
        "/outbox/dead-letters/redrive",
        summary="Re-drive every dead letter",
        description="Puts every dead-lettered event back for delivery.",
        responses=ERRORS,
    )
    async def redrive_all(session: SessionDep, _: Admin) -> Redriven:
        return Redriven(redriven=await _redrive(session, None))

    @router.post(
        "/outbox/dead-letters/{row_id}/redrive",
        summary="Re-drive one dead letter",
        description="Puts one dead-lettered event back for delivery.",
        responses=ERRORS,
    )
    async def redrive_one(row_id: uuid.UUID, session: SessionDep, _: Admin) -> Redriven:
        count = await _redrive(session, row_id)
        if not count:
            raise NotFound("No dead letter has this id.")
        return Redriven(redriven=count)

    if snapshot is not None:

        @router.post(
            "/events/republish",
            summary="Republish a snapshot of every aggregate",
            description="Emits a `*.changed` event with the current state of every aggregate this "
            "service owns, for a consumer rebuilding its projection (consumers keep the newest "
            "version, so this is always safe).",
            responses=ERRORS,
        )
        async def republish(session: SessionDep, _: Admin) -> Republished:
            return Republished(events=await snapshot(session))

    return router
