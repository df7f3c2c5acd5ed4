"""`GET /<prefix>/v1/audit`: who read or changed which child's records, for managers and admins.

One router for every service, reading the service's own audit tables (iro_kit.audit). Reading
the audit trail is itself audited, naming the child asked about.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Table, func, select

from iro_kit import audit
from iro_kit.auth import Principal, Role, require_roles
from iro_kit.dates import Day
from iro_kit.db import SessionDep, id_in
from iro_kit.errors import FieldProblem, Unprocessable, problem_responses
from iro_kit.pagination import Page, PageDep

AUDIT_ROLES = (Role.iro_manager, Role.admin)
Auditor = Annotated[Principal, Depends(require_roles(*AUDIT_ROLES))]
_ENGLAND = ZoneInfo("Europe/London")
_EARLIEST, _LATEST = date(2000, 1, 1), date(2100, 12, 31)


class AuditRecordRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "6f1c2b7e-3d0a-4c59-9a51-2f4b8c1d9e70",
                "at": "2026-12-02T10:15:03.120318Z",
                "subject": "3f6b2a90-7c1e-4d5a-9b8f-2e4c6a1d0b37",
                "roles": ["iro"],
                "action": "read",
                "method": "GET",
                "route": "/reviews/v1/children/{child_id}/schedule",
                "child_ids": ["0b5c1a3e-8a52-4c8e-9d0a-6f1f7e0b2a11"],
                "resource_type": "child",
                "resource_id": "0b5c1a3e-8a52-4c8e-9d0a-6f1f7e0b2a11",
                "request_id": "7d0e4c3b9a1f4f6e8c2d5b1a0e9f8d7c",
                "status": 200,
                "detail": None,
            }
        }
    )

    id: uuid.UUID
    at: datetime = Field(description="When, in UTC.")
    subject: str = Field(description="Who: the token's `sub`, or `system` for housekeeping.")
    roles: list[str] = Field(description="The roles the caller's token carried.")
    action: str = Field(description="`read`, `create`, `update`, `delete` or `audit.purge`.")
    method: str | None
    route: str | None = Field(description="The route template, e.g. `/drp/v1/disputes/{id}`.")
    child_ids: list[uuid.UUID] = Field(description="Every child the request named.")
    resource_type: str | None = Field(description="What was read or changed: `review`...")
    resource_id: str | None
    request_id: str | None = Field(description="The request's `X-Request-ID`.")
    status: int | None = Field(description="The HTTP status answered.")
    detail: dict[str, Any] | None = Field(
        description="For `audit.purge`: `count` removed and `before` (the cutoff)."
    )


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=_ENGLAND).astimezone(UTC)


def _check_day(name: str, day: date | None) -> None:
    if day is not None and not _EARLIEST <= day <= _LATEST:
        raise Unprocessable(
            f"`{name}` must be between {_EARLIEST} and {_LATEST}.",
            errors=[FieldProblem(pointer=f"/{name}", location="query", message="out of range")],
        )


def audit_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=f"{prefix}/v1", tags=["audit"])

    @router.get(
        "/audit",
        summary="The audit trail: who read or changed which child's records",
        description="Every read of a child's records and every change made through this "
        "service, newest first: who (token subject and roles), when, the action, the route, "
        "every child named, the resource and the request id. Filter by `child_id` (who saw "
        "this child?), by `subject` (what did this user see?) and by days `from`/`to` (both "
        "inclusive, England days, 2000-01-01 to 2100-12-31). Records are append-only and kept "
        "for `*_AUDIT_RETENTION_DAYS` (default six years); each purge is itself a record "
        "(`audit.purge`). Reading the trail is recorded too.",
        responses=problem_responses(401, 403, 422),
    )
    async def list_audit_records(
        request: Request,
        session: SessionDep,
        _: Auditor,
        page: PageDep,
        child_id: Annotated[
            uuid.UUID | None, Query(description="Records naming this child.")
        ] = None,
        subject: Annotated[
            str | None, Query(max_length=200, description="Records of this user (`sub`).")
        ] = None,
        from_: Annotated[Day | None, Query(alias="from", description="First day.")] = None,
        to: Annotated[Day | None, Query(description="Last day (inclusive).")] = None,
    ) -> Page[AuditRecordRead]:
        _check_day("from", from_)
        _check_day("to", to)
        if from_ is not None and to is not None and from_ > to:
            raise Unprocessable(
                "`from` must not be after `to`.",
                errors=[FieldProblem(pointer="/from", location="query", message="after `to`")],
            )
        audit.touched(child_ids=[child_id], resource_type="audit")
        table: Table = request.app.state.audit_table
        children = audit.child_table(table)
        query = select(table)
        at = table.c.at
        if child_id is not None:
            query = query.join(children, children.c.audit_id == table.c.id).where(
                children.c.child_id == child_id
            )
            at = children.c.at  # the same instant, ordered by the child's index
        if subject is not None:
            query = query.where(table.c.subject == subject)
        if from_ is not None:
            query = query.where(at >= _day_start(from_))
        if to is not None:
            query = query.where(at < _day_start(to + timedelta(days=1)))
        total = None
        if page.count:
            total = int(await session.scalar(select(func.count()).select_from(query.subquery())))
        rows = (
            await session.execute(
                query.order_by(at.desc(), table.c.id.desc())
                .offset(page.offset)
                .limit(page.limit + 1)
            )
        ).all()
        more = len(rows) > page.limit
        rows = rows[: page.limit]
        named: dict[uuid.UUID, list[uuid.UUID]] = {row.id: [] for row in rows}
        if named:
            found = await session.execute(
                select(children.c.audit_id, children.c.child_id).where(
                    id_in(session, children.c.audit_id, list(named))
                )
            )
            for audit_id, named_child in found:
                named[audit_id].append(named_child)
        items = [_read(row, sorted(named[row.id], key=str)) for row in rows]
        return page.page(items, has_more=more, total=total)

    return router


def _read(row: Any, child_ids: list[uuid.UUID]) -> AuditRecordRead:
    at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
    return AuditRecordRead(
        id=row.id,
        at=at.astimezone(UTC),
        subject=row.subject,
        roles=[r for r in row.roles.split(",") if r],
        action=row.action,
        method=row.method,
        route=row.route,
        child_ids=child_ids,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        request_id=row.request_id,
        status=row.status,
        detail=row.detail,
    )
