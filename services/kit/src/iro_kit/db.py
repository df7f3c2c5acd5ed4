"""Async SQLAlchemy 2: engine, sessions and a declarative base with stable constraint names.

aiosqlite by default; asyncpg when the URL is PostgreSQL (`postgresql://` is accepted and
mapped to asyncpg).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import ARRAY, MetaData, any_, bindparam, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from iro_kit.events.outbox import SESSION_KEY as OUTBOX_KEY
from iro_kit.events.outbox import WROTE_KEY
from iro_kit.events.tracking import PUBLISHER_KEY

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class KitBase(DeclarativeBase):
    """Services derive their own base: `class Base(KitBase): metadata = new_metadata()`."""

    __abstract__ = True


def normalise_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_directory(url: str) -> None:
    """Create the folder of a file-based SQLite database (e.g. `var/`) if it is missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver would begin a transaction only at the first write, so a savepoint taken first
    # would start one and its release would commit it. Begin every transaction ourselves
    # (_sqlite_begin), so savepoints nest inside it as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at the start, so a transaction that reads then writes
    # waits its turn (busy_timeout) instead of failing on a snapshot another writer moved on.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(
    url: str, *, pool_size: int | None = None, max_overflow: int | None = None, **kwargs: Any
) -> AsyncEngine:
    """An async engine for `url`. `pool_size` and `max_overflow` size PostgreSQL's connection
    pool (SQLAlchemy's 5 and 10 when not given); SQLite keeps its own pool and ignores them."""
    url = normalise_url(url)
    if is_sqlite(url):
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("connect_args", {"timeout": 5})
    # Beyond pool_size, a connection given back is closed: a pool smaller than the requests in
    # flight opens a new PostgreSQL connection every few requests.
    if pool_size is not None:
        kwargs["pool_size"] = pool_size
    if max_overflow is not None:
        kwargs["max_overflow"] = max_overflow
    checked = not kwargs.get("pool_pre_ping", False)
    engine = create_async_engine(url, **kwargs)
    if checked:
        event.listen(engine.sync_engine, "checkin", _given_back)
        event.listen(engine.sync_engine, "checkout", _check_out)
    return engine


# A pooled PostgreSQL connection idle longer than this is pinged before it is lent out.
PING_AFTER_IDLE_SECONDS = 10.0


def _given_back(_dbapi_connection: Any, record: Any) -> None:
    record.info["iro_idle_since"] = time.monotonic()


def _check_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """A connection the server has closed is never lent out (the pool replaces it).

    SQLAlchemy's `pool_pre_ping` asks the server on every checkout, and for asyncpg that is
    three round trips (BEGIN, a query, ROLLBACK) before each request's own. Instead: a backend
    ended by the server (a restart, `pg_terminate_backend`, an idle timeout) has closed its
    socket, which asyncpg notices as it happens, so `is_closed()` answers without asking; and
    a connection idle for `PING_AFTER_IDLE_SECONDS` (which may have been dropped silently by
    the network) is pinged as pre_ping would. A connection in steady use costs nothing.
    """
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")
    idle_since = record.info.get("iro_idle_since")
    if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise DisconnectionError("the connection did not answer a ping") from error


class Database:
    """One service's engine and session factory, and its outbox if it publishes events."""

    def __init__(
        self,
        url: str,
        outbox: Any = None,
        publisher: Any = None,
        *,
        pool_size: int | None = None,
        max_overflow: int | None = None,
    ) -> None:
        self.url = normalise_url(url)
        self.engine = create_engine(self.url, pool_size=pool_size, max_overflow=max_overflow)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.outbox = outbox  # iro_kit.events.outbox.Outbox
        self.publisher = publisher  # iro_kit.events.tracking.Publisher

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on any error.

        Events emitted in it (iro_kit.events.emit) are committed with it, and its outbox's
        relay is woken once the commit has happened.
        """
        async with self.sessions() as session:
            if self.outbox is not None:
                session.info[OUTBOX_KEY] = self.outbox
                if self.publisher is not None:
                    session.info[PUBLISHER_KEY] = self.publisher
            async with session.begin():
                yield session
            if session.info.get(WROTE_KEY) and self.outbox is not None:
                self.outbox.committed()

    async def dispose(self) -> None:
        await self.engine.dispose()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    # A POST with an Idempotency-Key: its transaction begins by claiming the key and is ended by
    # the idempotency middleware, so the change and the stored response commit together.
    claim = getattr(request.state, "iro_idempotency", None)
    if claim is not None:
        yield await claim.open(database)
        return
    async with database.transaction() as session:
        yield session


# scope="function": the transaction ends before the response is sent, so a failed commit is the
# client's error response, never a 201 for a write that did not happen.
SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]


def id_in(session: AsyncSession, column: Any, ids: list[Any]) -> Any:
    """`column IN ids`, as `column = ANY(:ids)` on PostgreSQL.

    One statement text whatever the number of ids, so asyncpg's prepared-statement cache is
    hit instead of preparing a new `IN ($1, ... $n)` for every list length.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(column.type)))
    return column.in_(ids)
