"""`Idempotency-Key` on every POST: a retried request gets the first response, not a second change.

An ASGI middleware, so that every POST of every service gets it without each route opting in
(FastAPI includes routers lazily, so routes cannot be wrapped one by one).

How it holds under a double submit:

- The key is scoped to the caller (the token's subject), the method and the path, and stored as
  one hash: a key can never replay another caller's response.
- Before the route runs, a placeholder row is inserted with `ON CONFLICT DO NOTHING` in the
  request's own transaction. On PostgreSQL a second request with the same key waits on that
  row until the first commits or rolls back, then replays its response (or, if it rolled back,
  runs itself). SQLite serialises writers already (`BEGIN IMMEDIATE`).
- The route joins that transaction (`SessionDep` uses `request.state.iro_session`), so the
  stored response commits together with the change it reports: a stored response always
  describes a committed change, and a crash between the two is impossible.
- Only a 2xx or 3xx is kept. A 4xx or 5xx rolls the transaction back, key included, so the
  client may fix the request and retry with the same key.
- The same key with a different body is a 422 `idempotency-key-reused`.

Responses are kept for `idempotency_retention_hours` (48) and purged by the service's
housekeeping (at start-up, then hourly).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import JSON as JSONType
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iro_kit.auth import authenticate
from iro_kit.errors import PROBLEM_MEDIA_TYPE, FieldProblem, problem_body
from iro_kit.logging import get_logger

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as the IETF draft's examples
# Response headers replayed with the body; the rest (request id, dates) belong to each request.
_KEPT_HEADERS = frozenset(
    {b"content-type", b"location", b"etag", b"last-modified", b"content-disposition"}
)
_IN_PROGRESS = 0
_log = get_logger("iro_kit.idempotency")


def idempotency_table(metadata: MetaData) -> Table:
    return Table("idempotency_response", metadata, *_columns())


def _columns() -> list[Column[Any]]:
    return [
        # sha256 of (subject, method, path, key): the caller's key, never another's.
        Column("key_hash", String(64), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),  # 0 while the first request runs
        Column("headers", JSONType, nullable=False),
        Column("body", LargeBinary, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    ]


def create_idempotency_table(op: Any) -> None:
    """For a migration: `create_idempotency_table(op)`."""
    from sqlalchemy import PrimaryKeyConstraint

    columns = [Column(c.name, c.type, nullable=c.nullable) for c in _columns()]
    op.create_table(
        "idempotency_response",
        *columns,
        PrimaryKeyConstraint("key_hash", name="pk_idempotency_response"),
    )
    op.create_index("ix_idempotency_response_created_at", "idempotency_response", ["created_at"])


def drop_idempotency_table(op: Any) -> None:
    op.drop_index("ix_idempotency_response_created_at", table_name="idempotency_response")
    op.drop_table("idempotency_response")


def install(app: FastAPI, table: Table) -> None:
    app.state.idempotency_table = table
    app.add_middleware(IdempotencyMiddleware, table=table)


async def purge(database: Any, table: Table, settings: Any) -> int:
    """Delete responses older than the retention; returns how many went."""
    cutoff = datetime.now(UTC) - timedelta(hours=settings.idempotency_retention_hours)
    async with database.transaction() as session:
        result = await session.execute(delete(table).where(table.c.created_at < cutoff))
    count = int(result.rowcount or 0)
    if count:
        _log.info("idempotency_purged", count=count)
    return count


def document(schema: dict[str, Any]) -> None:
    """Name the header on every POST in the OpenAPI, with its 422."""
    parameter = {
        "name": HEADER,
        "in": "header",
        "required": False,
        "description": (
            "Any unique string per intended change (a UUID), up to 200 visible ASCII "
            "characters; send the same key when retrying. The first 2xx response is kept for "
            "48 hours (`*_IDEMPOTENCY_RETENTION_HOURS`) and replayed to a retry by the same "
            f"caller with header `{REPLAYED}: true`, without applying anything again; a retry "
            "that arrives while the first is still running waits for it. An error response is "
            "not kept. The same key with a different body is a 422 `idempotency-key-reused`."
        ),
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    }
    for path_item in schema.get("paths", {}).values():
        operation = path_item.get("post")
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
            parameters.append(parameter)
        operation.setdefault("responses", {}).setdefault(
            "422",
            {
                "description": "Request is invalid",
                "content": {
                    PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                },
            },
        )


def request_hash(content_type: str, raw_body: bytes) -> str:
    """A digest of the body: of its JSON content if it is JSON (key order and spacing do not
    matter), else of its bytes; a multipart body without its boundary, which every client draws
    afresh on each send."""
    canonical = raw_body
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower().startswith("multipart/"):
        boundary = _boundary(parameters)
        if boundary:
            canonical = raw_body.replace(boundary.encode("latin-1"), b"")
        content_type = media_type.strip().lower()
    if "json" in content_type:
        with contextlib.suppress(ValueError):
            canonical = json.dumps(
                json.loads(raw_body), sort_keys=True, separators=(",", ":")
            ).encode()
    return hashlib.sha256(content_type.encode() + b"\0" + canonical).hexdigest()


def _boundary(parameters: str) -> str | None:
    for parameter in parameters.split(";"):
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "boundary":
            return value.strip().strip('"') or None
    return None


def _key_hash(subject: str, method: str, path: str, key: str) -> str:
    return hashlib.sha256("\0".join((subject, method, path, key)).encode()).hexdigest()


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope.get("headers", []):
        if header == name:
            return value.decode("latin-1")
    return None


class _RolledBack(Exception):
    """Raised inside the transaction to roll it back when the route answered an error."""


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, table: Table) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.match(key):
            await _send_problem(
                send,
                scope,
                422,
                "invalid-idempotency-key",
                "Idempotency-Key is invalid",
                "Idempotency-Key must be 1 to 200 visible ASCII characters (a UUID is ideal).",
                "must be 1 to 200 visible ASCII characters",
            )
            return
        subject = await _subject(scope)
        if subject is None:
            # No valid token: the route answers 401 or 403 itself, and nothing is kept.
            await self.app(scope, receive, send)
            return
        body, receive = await _buffer_body(receive)
        database = scope["app"].state.database
        content_type = _header(scope, b"content-type") or ""
        digest = request_hash(content_type, body)
        claim = _Claim(self.table, _key_hash(subject, "POST", scope["path"], key), digest)
        try:
            # A retry after the first response: replayed without running anything.
            async with database.sessions() as session:
                stored = await claim.stored(session)
        except Exception as exc:
            # Outside the service's handlers: a database that is down is still a 503.
            handled = await _handled_error(scope, exc)
            if handled is None:
                raise
            await handled.replay(send)
            return
        if stored is not None:
            await _replay(scope, send, stored, digest)
            return
        scope.setdefault("state", {})[CLAIM_STATE] = claim
        captured = _CapturedResponse()
        try:
            await self.app(scope, receive, captured.send)
        except _ReplayInstead:
            # A request with this key committed while this one waited for the key's row.
            await claim.close(ok=False)
            await _replay(scope, send, claim.existing, digest)
            return
        except BaseException:
            await claim.close(ok=False)
            raise
        ok = 200 <= captured.status < 400
        if claim.session is not None:
            try:
                # The route's own transaction: the response commits with the change.
                if ok:
                    await claim.record(claim.session, captured)
            except BaseException:
                await claim.close(ok=False)
                raise
            try:
                await claim.close(ok=ok)
            except Exception as exc:
                # The commit failed (the database went away): nothing was written, so answer
                # what the service's own handlers would have, never the route's untrue 2xx.
                handled = await _handled_error(scope, exc)
                if handled is None:
                    raise
                captured = handled
        elif ok:
            # A route that keeps its own transactions (a 903 upload starts a background job):
            # its change has committed, so its answer stands whatever happens here; the
            # response is kept afterwards, so sequential retries replay it.
            try:
                async with database.transaction() as session:
                    if await claim.claim(session):
                        await claim.record(session, captured)
            except Exception as exc:
                _log.warning("idempotency_store_failed", error_type=type(exc).__qualname__)
        await captured.replay(send)


CLAIM_STATE = "iro_idempotency"


class _ReplayInstead(Exception):
    """Raised out of the route's session dependency when the key's row turned out taken."""


class _Claim:
    """One request's key: claimed in the route's transaction when the route opens one."""

    def __init__(self, table: Table, key_hash: str, digest: str) -> None:
        self.table = table
        self.key_hash = key_hash
        self.digest = digest
        self.session: Any = None
        self.existing: Any = None
        self._stack: AsyncExitStack | None = None

    async def stored(self, session: Any) -> Any:
        row = (
            await session.execute(select(self.table).where(self.table.c.key_hash == self.key_hash))
        ).one_or_none()
        return None if row is None or row.status_code == _IN_PROGRESS else row

    async def claim(self, session: Any) -> bool:
        return await _claim_row(session, self.table, self.key_hash, self.digest)

    async def open(self, database: Any) -> Any:
        """The route's session (iro_kit.db.SessionDep): its transaction begins by claiming the
        key, so a parallel request with the same key waits here until this one ends."""
        stack = AsyncExitStack()
        session = await stack.enter_async_context(database.transaction())
        self._stack, self.session = stack, session
        if not await self.claim(session):
            self.existing = (
                await session.execute(
                    select(self.table).where(self.table.c.key_hash == self.key_hash)
                )
            ).one()
            raise _ReplayInstead
        return session

    async def record(self, session: Any, captured: _CapturedResponse) -> None:
        await session.execute(
            update(self.table)
            .where(self.table.c.key_hash == self.key_hash)
            .values(
                status_code=captured.status,
                headers=captured.kept_headers(),
                body=captured.body,
            )
        )

    async def close(self, *, ok: bool) -> None:
        """Commit (ok) or roll back the route's transaction, if it opened one."""
        stack, self._stack = self._stack, None
        if stack is None:
            return
        if ok:
            await stack.aclose()
            return
        with contextlib.suppress(_RolledBack):
            await stack.__aexit__(_RolledBack, _RolledBack(), None)


async def _subject(scope: Scope) -> str | None:
    # The request gate (iro_kit.middleware) has verified the token already on a route that
    # needs one; `authenticate` then hands back that principal without verifying it again.
    try:
        principal = await authenticate(scope, scope["app"].state.token_verifier)
    except Exception:
        return None
    return str(principal.subject)


async def _buffer_body(receive: Receive) -> tuple[bytes, Receive]:
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    sent = False

    async def replay_receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay_receive


class _CapturedResponse:
    """The route's response, held back until its transaction has committed."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def kept_headers(self) -> list[list[str]]:
        return [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in self.headers
            if name.lower() in _KEPT_HEADERS
        ]

    async def replay(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


async def _handled_error(scope: Scope, exc: Exception) -> _CapturedResponse | None:
    from starlette.requests import Request

    handlers = scope["app"].exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            break
    else:
        return None
    try:
        response = await handler(Request(scope), exc)
    except Exception:
        return None
    captured = _CapturedResponse()
    await response({"type": "http"}, _no_receive, captured.send)
    return captured


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


async def _replay(scope: Scope, send: Send, stored: Any, digest: str) -> None:
    if stored.request_hash != digest:
        await _send_problem(
            send,
            scope,
            422,
            "idempotency-key-reused",
            "Idempotency key reused",
            "This Idempotency-Key was used with a different request body; use a new key.",
            "already used with another body",
        )
        return
    if stored.status_code == _IN_PROGRESS:
        # Only if a request's placeholder was visible before it committed, which neither
        # database allows; answered safely all the same.
        await _send_problem(
            send,
            scope,
            409,
            "idempotency-key-in-progress",
            "Request still in progress",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            "in progress",
        )
        return
    headers = [(str(n).encode("latin-1"), str(v).encode("latin-1")) for n, v in stored.headers]
    headers.append((REPLAYED.lower().encode(), b"true"))
    body = bytes(stored.body)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _send_problem(
    send: Send,
    scope: Scope,
    status: int,
    slug: str,
    title: str,
    detail: str,
    message: str,
) -> None:
    body = problem_body(
        status,
        detail,
        scope.get("path", ""),
        slug=slug,
        title=title,
        errors=[FieldProblem(pointer=f"/{HEADER}", location="header", message=message)],
    )
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(raw)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


# -- claiming a key -------------------------------------------------------------------------


async def _claim_row(session: Any, table: Table, key_hash: str, digest: str) -> bool:
    values = {
        "key_hash": key_hash,
        "request_hash": digest,
        "status_code": _IN_PROGRESS,
        "headers": [],
        "body": b"",
        "created_at": datetime.now(UTC),
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=["key_hash"])
    result = await session.execute(statement)
    return bool(result.rowcount)
