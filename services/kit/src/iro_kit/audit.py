"""The audit trail: who read which child's record, and who changed what, kept append-only.

Each service has two tables: `audit_record` (one row per audited request: who, roles, when,
action, method, route template, resource, request id, status) and `audit_record_child` (one
row per child the request named, so "who saw this child?" is an index lookup on both
databases, and a drill-down naming 500 children is one record and one bulk insert).

What is recorded:

- every successful write (POST, PUT, PATCH, DELETE) to a business route: the child in the
  path (`{child_id}`) is named automatically, and routes name the others with `touched()`;
- every successful read of a route with `{child_id}` in its path, and of every route that
  called `touched()`: a review, a dispute, a list or drill-down naming children, the audit
  trail itself. Health, metrics,
  docs, identity and the event inbox (machine deliveries, kept in `inbox`) never are.

When it is written: in the request's own transaction, just before it commits (a SQLAlchemy
`before_commit` hook, for the commit made by the request's task while the route runs, or by
the Idempotency-Key middleware for a keyed POST). So a change and its audit record commit
together or not at all, and a read costs one insert in a transaction it had anyway. A route
that commits no transaction of its own gets its record in a short transaction of its own
before its response starts.

Failing closed: if the record cannot be written the response carries no data. In the
request's transaction the commit fails and the route's error (a 503 when the database is
down) is sent instead; on the separate path a read becomes a 503 with `Retry-After`. Only a
write already committed on that path is answered as it happened (an error would invite a
retry of a change that took place), and the failure is logged.

The tables, their append-only triggers and the purge are in iro_kit.audit_tables. Audit
records never go to the logs: this module logs error types only.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iro_kit.audit_tables import (
    PURGE_ACTION,
    append_only_ddl,
    audit_table,
    child_table,
    create_audit_tables,
    drop_audit_tables,
    purge,
)
from iro_kit.errors import (
    DATABASE_UNAVAILABLE_DETAIL,
    PROBLEM_MEDIA_TYPE,
    RETRY_AFTER_SECONDS,
    problem_body,
)
from iro_kit.logging import get_logger

__all__ = [
    "PURGE_ACTION",
    "AuditMiddleware",
    "append_only_ddl",
    "audit_table",
    "child_table",
    "create_audit_tables",
    "drop_audit_tables",
    "install",
    "purge",
    "touched",
]
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_ACTIONS = {"GET": "read", "HEAD": "read", "POST": "create", "PUT": "update", "PATCH": "update"}
_UNAUDITED_TAGS = frozenset({"ops", "events", "identity"})
_log = get_logger("iro_kit.audit")


# -- what a request touched -----------------------------------------------------------------

_OPEN, _DONE = "open", "done"


@dataclass(eq=False)
class _Entry:
    """One request's audit record, filled in by the route and written once."""

    scope: Scope
    table: Table
    engine: Any  # the service's sync Engine: commits on another database are not ours
    task: asyncio.Task[Any] | None
    child_ids: dict[uuid.UUID, None] = field(default_factory=dict)  # an ordered set
    named: bool = False  # the route called touched(): its read is audited
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    state: str = _OPEN
    claim_session: Any = None  # set once the route returned with a keyed POST's open session

    @property
    def method(self) -> str:
        return str(self.scope["method"])

    def wanted(self) -> bool:
        route = self.scope.get("route")
        if route is None or _UNAUDITED_TAGS.intersection(getattr(route, "tags", None) or ()):
            return False
        # A route with the child in its path reads or changes that child's records.
        return (
            self.named
            or self.method in _WRITE_METHODS
            or "child_id" in self.scope.get("path_params", {})
        )

    def rows(self, status: int | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        state = self.scope.get("state", {})
        principal = state.get("principal")
        route = self.scope.get("route")
        params = self.scope.get("path_params", {})
        children = dict(self.child_ids)
        in_path = _as_uuid(params.get("child_id"))
        if in_path is not None:
            children.setdefault(in_path, None)
        resource_type, resource_id = self.resource_type, self.resource_id
        if resource_type is None:
            resource_type, resource_id = _resource_in_path(getattr(route, "path", ""), params)
        at = datetime.now(UTC)
        record = {
            "id": uuid.uuid4(),
            "at": at,
            "subject": principal.subject if principal is not None else "unknown",
            "roles": ",".join(sorted(str(r) for r in principal.roles)) if principal else "",
            "action": self.action or _ACTIONS.get(self.method, "delete"),
            "method": self.method,
            "route": getattr(route, "path", None),
            "resource_type": resource_type,
            "resource_id": resource_id,
            "request_id": state.get("request_id"),
            "status": status if status is not None else getattr(route, "status_code", None) or 200,
            "detail": None,
        }
        return record, [{"audit_id": record["id"], "child_id": c, "at": at} for c in children]


_CURRENT: contextvars.ContextVar[_Entry | None] = contextvars.ContextVar(
    "iro_audit_entry", default=None
)


def touched(
    *,
    child_ids: Iterable[uuid.UUID | str | None] = (),
    resource_type: str | None = None,
    resource_id: object = None,
    action: str | None = None,
) -> None:
    """Name what the current request read or changed: it is then audited, even as a read.

    Call it from the route before returning (for a file export, before the response starts).
    Outside a request (a CLI, a background job) it does nothing.
    """
    entry = _CURRENT.get()
    if entry is None:
        return
    entry.named = True
    for child_id in child_ids:
        parsed = _as_uuid(child_id)
        if parsed is not None:
            entry.child_ids.setdefault(parsed, None)
    if resource_type is not None:
        entry.resource_type = resource_type
        entry.resource_id = None if resource_id is None else str(resource_id)
    if action is not None:
        entry.action = action


def _as_uuid(value: object) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _resource_in_path(template: str, params: dict[str, Any]) -> tuple[str | None, str | None]:
    """The last `{x_id}` of the route template: `/reviews/{review_id}` is review <id>."""
    for name in reversed([p.strip("{}").split(":")[0] for p in template.split("/")]):
        if name.endswith("_id") and name in params:
            return name.removesuffix("_id"), str(params[name])
    return None, None


# -- writing --------------------------------------------------------------------------------


def _before_commit(session: Session) -> None:
    """Write the request's record in the transaction about to commit, if it is the request's."""
    entry = _CURRENT.get()
    if entry is None or entry.state is not _OPEN or not entry.wanted():
        return
    try:
        if asyncio.current_task() is not entry.task:  # a background job the request started
            return
    except RuntimeError:
        return
    if entry.claim_session is not None and session is not entry.claim_session.sync_session:
        return
    if session.get_bind() is not entry.engine:
        return
    record, children = entry.rows(None)
    session.execute(insert(entry.table), [record])
    if children:
        session.execute(insert(child_table(entry.table)), children)
    entry.state = _DONE


event.listen(Session, "before_commit", _before_commit)


async def _write_alone(database: Any, entry: _Entry, status: int) -> None:
    entry.state = _DONE  # before the commit, so the hook leaves this transaction alone
    record, children = entry.rows(status)
    async with database.transaction() as session:
        await session.execute(insert(entry.table), [record])
        if children:
            await session.execute(insert(child_table(entry.table)), children)


class AuditMiddleware:
    def __init__(self, app: ASGIApp, table: Table) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        database = scope["app"].state.database
        entry = _Entry(scope, self.table, database.engine.sync_engine, asyncio.current_task())
        token = _CURRENT.set(entry)
        refused = False

        async def send_audited(message: Message) -> None:
            nonlocal refused
            if refused:
                return
            if message["type"] == "http.response.start":
                refused = not await self._settle(scope, database, entry, message["status"], send)
                if refused:
                    return
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        finally:
            claim = scope.get("state", {}).get("iro_idempotency")
            if entry.state is _OPEN and claim is not None and claim.session is not None:
                # A keyed POST: the Idempotency-Key middleware commits the route's transaction
                # after this returns, and the record goes in with it.
                entry.claim_session = claim.session
            else:
                entry.state = _DONE
                _CURRENT.reset(token)

    async def _settle(
        self, scope: Scope, database: Any, entry: _Entry, status: int, send: Send
    ) -> bool:
        """At the start of the response: write the record now if no transaction took it.

        False when the response must not go out (a read whose record failed): a 503 was sent.
        """
        if entry.state is not _OPEN:
            return True
        if not 200 <= status < 400 or not entry.wanted():
            entry.state = _DONE
            return True
        claim = scope.get("state", {}).get("iro_idempotency")
        if claim is not None and claim.session is not None:
            return True  # written when the keyed POST's transaction commits
        try:
            await _write_alone(database, entry, status)
        except Exception as exc:
            if entry.method in _WRITE_METHODS:
                _log.error("audit_write_failed", error_type=type(exc).__qualname__, committed=True)
                return True
            _log.warning("audit_write_failed", error_type=type(exc).__qualname__)
            await _send_unavailable(scope, send)
            return False
        return True


async def _send_unavailable(scope: Scope, send: Send) -> None:
    body = json.dumps(
        problem_body(503, DATABASE_UNAVAILABLE_DETAIL, scope.get("path", ""))
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, table: Table) -> None:
    app.state.audit_table = table
    app.add_middleware(AuditMiddleware, table=table)
