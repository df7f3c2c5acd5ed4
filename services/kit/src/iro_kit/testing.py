"""Pytest fixtures the services share (registered by the root conftest.py).

Database tests run on SQLite by default. Set `IRO_TEST_POSTGRES_URL` (an admin URL such as
`postgresql://postgres@127.0.0.1:54329/postgres`) to run them on PostgreSQL: each test then
gets a database of its own, created and dropped around it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from iro_kit.auth import Role
from iro_kit.problem_types import PROBLEM_BASE
from iro_kit.tokens import mint_dev_token

POSTGRES_ENV = "IRO_TEST_POSTGRES_URL"
REQUIRE_ENV = "IRO_TEST_REQUIRE"


def skip_unless_available(what: str, reason: str) -> None:
    """Skip a test whose outside dependency is missing, unless the run requires it.

    CI sets `IRO_TEST_REQUIRE=nginx,postgres,docker-compose` so that a missing server fails the
    run instead of skipping quietly; a laptop without them skips with the reason.
    """
    required = {w.strip() for w in os.environ.get(REQUIRE_ENV, "").split(",") if w.strip()}
    if what in required:
        pytest.fail(f"{what} is required in this run ({REQUIRE_ENV}) but missing: {reason}")
    pytest.skip(reason)


def postgres_admin_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _admin_dsn(admin_url: str) -> str:
    return make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(admin_url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_admin_dsn(admin_url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_postgres_database(admin_url: str) -> str:
    name = f"iro_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    return (
        make_url(admin_url)
        .set(drivername="postgresql+asyncpg", database=name)
        .render_as_string(hide_password=False)
    )


def drop_postgres_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def empty_database(tmp_path: Path, name: str = "test.db") -> Iterator[str]:
    """An empty database: PostgreSQL when configured (made, then dropped), else the SQLite
    file `name` under `tmp_path`."""
    admin_url = postgres_admin_url()
    if admin_url is None:
        if "postgres" in os.environ.get(REQUIRE_ENV, ""):
            pytest.fail(f"postgres is required in this run but {POSTGRES_ENV} is not set")
        yield f"sqlite+aiosqlite:///{tmp_path / name}"
        return
    url = create_postgres_database(admin_url)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, url)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database for one test: PostgreSQL when configured, else a SQLite file."""
    with empty_database(tmp_path) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database; the test is skipped when PostgreSQL is not configured."""
    admin_url = postgres_admin_url()
    if admin_url is None:
        skip_unless_available("postgres", f"needs PostgreSQL: set {POSTGRES_ENV} (CI does)")
    url = create_postgres_database(admin_url)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, url)


def assert_problem(
    response: Any, status: int, kind: str, pointer: str | None = None
) -> dict[str, Any]:
    """The response is a problem+json of `status` and `kind`, naming `pointer` if given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM_BASE + kind, body
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    if pointer is not None:
        assert pointer in [error["pointer"] for error in body.get("errors") or []], body
    return body


def bearer(*roles: Role | str, **kwargs: object) -> dict[str, str]:
    """An Authorization header with a development token for `roles`."""
    return {"Authorization": f"Bearer {mint_dev_token(roles, **kwargs)}"}  # type: ignore[arg-type]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Fail the run when any test produced a problem the catalogue does not describe."""
    from iro_kit.problem_types import undocumented

    found = sorted(undocumented())
    if not found:
        return
    terminalreporter.section("problems not in the catalogue (iro_kit.problem_types)", red=True)
    for slug, status, members in found:
        terminalreporter.line(f"{status} {slug} extension members {list(members)}")
    terminalreporter.line("register them (iro_kit.problem_types.register): the run fails")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """A run that produced a problem the catalogue does not describe fails (the summary above
    names them): every problem a client can meet is documented."""
    from iro_kit.problem_types import undocumented

    if undocumented() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
