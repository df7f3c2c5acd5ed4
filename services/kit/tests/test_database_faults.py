"""A database that cannot be reached is a 503 with `Retry-After`; a failed statement is not.

Issue 10: in a PostgreSQL restart, connection errors that asyncpg raised as `DBAPIError` or
`InternalError` became 500s without `Retry-After`. The failures here are the drivers' own: a
backend terminated with `pg_terminate_backend`, a refused connect, SQLite locked by another
writer, a pool with no free connection.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, InternalError
from sqlalchemy.ext.asyncio import create_async_engine

from iro_kit import db
from iro_kit.app import ServiceSpec, create_service_app
from iro_kit.db import SessionDep, is_sqlite, normalise_url
from iro_kit.errors import database_unavailable, transaction_conflict
from iro_kit.migrations import upgrade_to_head
from iro_kit.settings import ServiceSettings
from iro_kit.testing import assert_problem, postgres_admin_url

from .conftest import MIGRATIONS

PATH = "/kit/v1/fault"


def _wrapped(cls: type[DBAPIError], orig: BaseException) -> DBAPIError:
    """What SQLAlchemy raises around a driver's exception (`exc.orig`, chained as the cause)."""
    try:
        raise cls("SELECT 1", None, orig) from orig  # type: ignore[arg-type]
    except DBAPIError as wrapped:
        return wrapped


# Connection-level failures, as asyncpg and sqlite3 raise them (their own classes and texts).
UNAVAILABLE: dict[str, Callable[[], BaseException]] = {
    "admin shutdown (pg_ctl -m fast)": lambda: _wrapped(
        DBAPIError,
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
    ),
    "crash shutdown (pg_ctl -m immediate)": lambda: _wrapped(
        DBAPIError, asyncpg.exceptions.CrashShutdownError("terminating connection")
    ),
    "cannot connect now": lambda: _wrapped(
        InternalError,
        asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
    ),
    "connection does not exist": lambda: _wrapped(
        DBAPIError,
        asyncpg.exceptions.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        ),
    ),
    "connection is closed": lambda: _wrapped(
        InterfaceError, asyncpg.exceptions.InterfaceError("connection is closed")
    ),
    "too many connections": lambda: _wrapped(
        DBAPIError, asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already")
    ),
    "connection reset": lambda: _wrapped(DBAPIError, ConnectionResetError(104, "reset by peer")),
    "sqlite disk I/O": lambda: _wrapped(DBAPIError, sqlite3.OperationalError("disk I/O error")),
}

# Failures of a statement: the database is there and said no.
NOT_UNAVAILABLE: dict[str, Callable[[], BaseException]] = {
    "division by zero": lambda: _wrapped(
        DBAPIError, asyncpg.exceptions.DivisionByZeroError("division by zero")
    ),
    "syntax error": lambda: _wrapped(
        DBAPIError, asyncpg.exceptions.PostgresSyntaxError('syntax error at or near "selec"')
    ),
    "unique violation": lambda: _wrapped(
        IntegrityError, asyncpg.exceptions.UniqueViolationError("duplicate key value")
    ),
    "asyncpg misuse": lambda: _wrapped(
        InterfaceError,
        asyncpg.exceptions.InterfaceError("the server expects 1 argument for this query, 0 given"),
    ),
    "sqlite syntax": lambda: _wrapped(
        DBAPIError, sqlite3.OperationalError('near "selec": syntax error')
    ),
    "sqlite no such table": lambda: _wrapped(
        DBAPIError, sqlite3.OperationalError("no such table: child")
    ),
    "application's own refused connection": lambda: ConnectionRefusedError(111, "refused"),
    "application's own missing file": lambda: FileNotFoundError(2, "No such file"),
}


# PostgreSQL rolled the transaction back so another could go on: retry at once (these were 500s).
CONFLICTS: dict[str, Callable[[], BaseException]] = {
    "deadlock detected": lambda: _wrapped(
        DBAPIError, asyncpg.exceptions.DeadlockDetectedError("deadlock detected")
    ),
    "serialization failure": lambda: _wrapped(
        DBAPIError,
        asyncpg.exceptions.SerializationError(
            "could not serialize access due to concurrent update"
        ),
    ),
}


@pytest.mark.parametrize("make", CONFLICTS.values(), ids=CONFLICTS.keys())
def test_deadlocks_and_serialization_failures_are_transaction_conflicts(
    make: Callable[[], BaseException],
) -> None:
    assert transaction_conflict(make())


@pytest.mark.parametrize(
    "make", [*UNAVAILABLE.values(), *NOT_UNAVAILABLE.values()], ids=[*UNAVAILABLE, *NOT_UNAVAILABLE]
)
def test_other_failures_are_not_transaction_conflicts(make: Callable[[], BaseException]) -> None:
    assert not transaction_conflict(make())


@pytest.mark.parametrize("make", UNAVAILABLE.values(), ids=UNAVAILABLE.keys())
def test_connection_failures_are_database_unavailable(make: Callable[[], BaseException]) -> None:
    assert database_unavailable(make())


@pytest.mark.parametrize("make", NOT_UNAVAILABLE.values(), ids=NOT_UNAVAILABLE.keys())
def test_statement_failures_are_not_database_unavailable(make: Callable[[], BaseException]) -> None:
    assert not database_unavailable(make())


def _fault_router(raisers: dict[str, Callable[[], BaseException]]) -> APIRouter:
    router = APIRouter(prefix="/kit/v1", tags=["fault"])

    @router.get("/fault")
    async def fault(name: str) -> None:
        raise raisers[name]()

    @router.get("/locked")
    async def locked(session: SessionDep) -> None:
        await session.execute(text("CREATE TABLE IF NOT EXISTS fault_probe (x INTEGER)"))

    @router.get("/pool-exhausted")
    async def pool_exhausted(session: SessionDep) -> None:
        url = str(session.get_bind().url.render_as_string(hide_password=False))
        engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.05)
        try:
            async with engine.connect(), engine.connect():
                pass
        finally:
            await engine.dispose()

    @router.get("/terminated")
    async def terminated(session: SessionDep, when: str = "between") -> None:
        pid = int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)
        if when == "during":  # the backend goes while a statement runs (a restart's case)
            killer = asyncio.create_task(_terminate_backend(pid, after=0.3))
            await session.execute(text("SELECT pg_sleep(5)"))
            await killer
            return
        await _terminate_backend(pid)
        if when == "between":
            await session.execute(text("SELECT 1"))
        # when == "commit": the dependency's commit meets the closed connection.

    @router.get("/backend")
    async def backend(session: SessionDep) -> int:
        return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)

    @router.get("/deadlock")
    async def deadlock(session: SessionDep) -> None:
        """Row 1 here, row 2 in another transaction, then each asks for the other's row."""
        url = session.get_bind().url.render_as_string(hide_password=False)
        dsn = url.replace("postgresql+asyncpg://", "postgresql://")
        setup = await asyncpg.connect(dsn)
        try:
            await setup.execute(
                "CREATE TABLE IF NOT EXISTS fault_pair (id INTEGER PRIMARY KEY);"
                "INSERT INTO fault_pair VALUES (1), (2) ON CONFLICT DO NOTHING"
            )
        finally:
            await setup.close()
        # This backend looks for the deadlock first (50 ms; the other waits the default 1 s),
        # so it is this transaction that PostgreSQL rolls back.
        await session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
        await session.execute(text("SELECT id FROM fault_pair WHERE id = 1 FOR UPDATE"))
        holds_two = asyncio.Event()
        other = asyncio.create_task(_lock_two_then_one(dsn, holds_two))
        await asyncio.wait_for(holds_two.wait(), 10)
        try:
            await session.execute(text("SELECT id FROM fault_pair WHERE id = 2 FOR UPDATE"))
        except DBAPIError:
            await session.rollback()  # row 1 goes, so the other transaction can finish
            await asyncio.wait_for(other, 10)
            raise
        await other

    @router.get("/division-by-zero")
    async def division_by_zero(session: SessionDep) -> None:
        await session.execute(text("SELECT 1 / 0"))

    @router.get("/syntax")
    async def syntax(session: SessionDep) -> None:
        await session.execute(text("SELEC 1"))

    return router


async def _lock_two_then_one(dsn: str, holds_two: asyncio.Event) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute("SELECT id FROM fault_pair WHERE id = 2 FOR UPDATE")
            holds_two.set()
            await connection.execute("SELECT id FROM fault_pair WHERE id = 1 FOR UPDATE")
    finally:
        await connection.close()


async def _terminate_backend(pid: int, after: float = 0.0) -> None:
    await asyncio.sleep(after)
    admin = postgres_admin_url()
    assert admin is not None
    dsn = admin.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()
    await asyncio.sleep(0.05)  # the backend is gone before the next statement is sent


@pytest.fixture
def fault_app(database_url: str) -> Callable[..., FastAPI]:
    def factory(database: str | None = None, **overrides: Any) -> FastAPI:
        url = database or database_url
        if database is None:
            upgrade_to_head(MIGRATIONS, url)
        spec = ServiceSpec(
            name="kit-faults",
            prefix="/kit",
            title="Kit faults",
            description="Routes that fail the way a database does.",
            script_location=MIGRATIONS,
            routers=[_fault_router({**UNAVAILABLE, **NOT_UNAVAILABLE, **CONFLICTS})],
        )
        settings = ServiceSettings(database_url=url, database_wait_seconds=0, **overrides)
        return create_service_app(spec, settings)

    return factory


@pytest.fixture
def api(fault_app: Callable[..., FastAPI]) -> Iterator[TestClient]:
    with TestClient(fault_app(), raise_server_exceptions=False) as client:
        yield client


def _assert_unavailable(response: Any) -> None:
    body = assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"] == "5"
    assert body["detail"] == "The database is unavailable; try again shortly."
    for leak in ("SELECT", "asyncpg", "sqlite", "Traceback"):
        assert leak not in response.text


@pytest.mark.parametrize("name", UNAVAILABLE.keys())
def test_a_connection_failure_in_a_route_is_503_with_retry_after(
    api: TestClient, name: str
) -> None:
    _assert_unavailable(api.get(PATH, params={"name": name}))


def _assert_conflict(response: Any) -> None:
    body = assert_problem(response, 503, "service-unavailable")
    assert response.headers["retry-after"] == "1"
    assert body["detail"] == (
        "The change met another made at the same moment and was not saved; send it again."
    )
    for leak in ("SELECT", "asyncpg", "40P01", "Detected", "Traceback"):
        assert leak not in response.text


@pytest.mark.parametrize("name", CONFLICTS.keys())
def test_a_transaction_conflict_in_a_route_is_503_retry_at_once(api: TestClient, name: str) -> None:
    _assert_conflict(api.get(PATH, params={"name": name}))


@pytest.mark.parametrize("name", [n for n in NOT_UNAVAILABLE if n != "unique violation"])
def test_a_statement_failure_in_a_route_is_still_500(api: TestClient, name: str) -> None:
    response = api.get(PATH, params={"name": name}, headers={"X-Request-ID": "fault-500"})
    body = assert_problem(response, 500, "internal-error")
    assert body["request_id"] == "fault-500"
    assert "retry-after" not in response.headers


def test_a_unique_violation_is_still_409(api: TestClient) -> None:
    assert_problem(api.get(PATH, params={"name": "unique violation"}), 409, "conflict")


def test_a_real_syntax_error_is_500_not_503(api: TestClient) -> None:
    """On SQLite a syntax error is an OperationalError, which used to be answered 503."""
    assert_problem(api.get("/kit/v1/syntax"), 500, "internal-error")


def test_an_exhausted_pool_is_503(api: TestClient) -> None:
    _assert_unavailable(api.get("/kit/v1/pool-exhausted"))


def test_a_refused_connection_is_503(fault_app: Callable[..., FastAPI]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = fault_app(database=f"postgresql://nobody@127.0.0.1:{port}/none")
    # Not entered: start-up would wait for the database; this is one that went away after.
    client = TestClient(app, raise_server_exceptions=False)
    _assert_unavailable(client.get("/kit/v1/locked"))
    assert client.get("/kit/health/ready").status_code == 503


def _wait_briefly(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=100")
    cursor.close()


def test_sqlite_locked_by_another_writer_is_503(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}"
    upgrade_to_head(MIGRATIONS, url)
    spec = ServiceSpec(
        name="kit-faults",
        prefix="/kit",
        title="Kit faults",
        description="SQLite locked.",
        script_location=MIGRATIONS,
        routers=[_fault_router({})],
    )
    app = create_service_app(spec, ServiceSettings(database_url=url))
    # Another process's writer holds the lock longer than this connection will wait.
    event.listen(app.state.database.engine.sync_engine, "connect", _wait_briefly)
    writer = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/kit/health/ready").status_code == 200
            writer.execute("BEGIN IMMEDIATE")
            _assert_unavailable(client.get("/kit/v1/locked"))
            writer.execute("ROLLBACK")
            assert client.get("/kit/v1/locked").status_code == 200
    finally:
        writer.close()


@pytest.fixture
def postgres_api(fault_app: Callable[..., FastAPI], database_url: str) -> Iterator[TestClient]:
    if is_sqlite(normalise_url(database_url)):
        pytest.skip(
            "needs PostgreSQL (IRO_TEST_POSTGRES_URL): a backend to end, a deadlock to break"
        )
    with TestClient(fault_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("when", ["during", "between", "commit"])
def test_a_terminated_backend_is_503_and_the_next_request_reconnects(
    postgres_api: TestClient, when: str
) -> None:
    """`during` is the 500 of issue 10: asyncpg's ConnectionDoesNotExistError as a DBAPIError."""
    _assert_unavailable(postgres_api.get("/kit/v1/terminated", params={"when": when}))
    assert postgres_api.get("/kit/health/ready").status_code == 200


def test_a_real_statement_error_on_postgres_is_500(postgres_api: TestClient) -> None:
    assert_problem(postgres_api.get("/kit/v1/division-by-zero"), 500, "internal-error")
    assert_problem(postgres_api.get("/kit/v1/syntax"), 500, "internal-error")


def test_a_real_deadlock_on_postgres_is_503_and_a_retry_succeeds(postgres_api: TestClient) -> None:
    """A deadlock PostgreSQL broke by rolling this request back was a 500 (SQLSTATE 40P01)."""
    _assert_conflict(postgres_api.get("/kit/v1/deadlock"))
    assert postgres_api.get("/kit/health/ready").status_code == 200


def _terminate_all(database_url: str) -> int:
    """End every backend of the app's database (as a restart would) and wait until gone."""

    async def terminate() -> int:
        admin = postgres_admin_url()
        assert admin is not None
        connection = await asyncpg.connect(admin.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            name = make_url(normalise_url(database_url)).database
            ended = await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        finally:
            await connection.close()
        await asyncio.sleep(0.2)  # the sockets are closed and seen closed
        return int(ended)

    return asyncio.run(terminate())


def test_pooled_connections_ended_while_idle_are_replaced_not_lent_out(
    postgres_api: TestClient, database_url: str
) -> None:
    """Without pre-ping's round trips (`iro_kit.db._check_out`), a restart's closed connections
    are still never lent out: the requests after it succeed, on new backends."""
    before = {postgres_api.get("/kit/v1/backend").json() for _ in range(3)}
    assert _terminate_all(database_url) >= 1
    after = [postgres_api.get("/kit/v1/backend") for _ in range(3)]
    assert [r.status_code for r in after] == [200, 200, 200]
    assert not before & {r.json() for r in after}


def test_a_connection_in_steady_use_is_not_pinged_an_idle_one_is(
    fault_app: Callable[..., FastAPI], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLAlchemy's pre-ping sent BEGIN, `;` and ROLLBACK before every request's statements."""
    if is_sqlite(normalise_url(database_url)):
        pytest.skip("needs PostgreSQL (IRO_TEST_POSTGRES_URL): the ping is asyncpg's")
    app = fault_app()
    sent: list[str] = []

    def log_queries(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(lambda r: sent.append(r.query))

    event.listen(app.state.database.engine.sync_engine, "connect", log_queries)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/kit/v1/backend").status_code == 200
        sent.clear()
        for _ in range(5):
            assert client.get("/kit/v1/backend").status_code == 200
        assert ";" not in sent
        assert sent.count("BEGIN;") == 5  # each request's own transaction, no ping's
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
        assert client.get("/kit/v1/backend").status_code == 200
        assert ";" in sent
