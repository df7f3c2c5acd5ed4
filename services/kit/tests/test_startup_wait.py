"""Start-up waits for a database that comes up late, with backoff, and gives up after a bound."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from iro_kit.db import Database, is_sqlite, normalise_url
from iro_kit.logging import configure_logging
from iro_kit.settings import ServiceSettings
from iro_kit.startup import DatabaseNeverCameUp, wait_for_database


def _events(output: str, name: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == name]


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_start_up_waits_for_a_sqlite_folder_that_appears_late(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=True)
    folder = tmp_path / "mounted-later"
    database = Database(f"sqlite+aiosqlite:///{folder / 'late.db'}")
    settings = ServiceSettings(database_url=database.url, database_wait_seconds=10)
    timer = threading.Timer(1.0, folder.mkdir)
    timer.start()
    started = time.monotonic()
    try:
        asyncio.run(wait_for_database(database, settings))
    finally:
        timer.cancel()
        asyncio.run(database.dispose())
    assert 1.0 <= time.monotonic() - started < 4.0
    waits = _events(capsys.readouterr().out, "database_waiting")
    assert [w["attempt"] for w in waits] == list(range(1, len(waits) + 1))
    delays = [w["delay_seconds"] for w in waits]
    assert delays[:3] == [0.2, 0.4, 0.8], delays  # doubling from 0.2 s


@asynccontextmanager
async def _forwarder_after(delay: float, target: tuple[str, int], port: int) -> AsyncIterator[None]:
    """A TCP port that starts listening `delay` seconds from now and forwards to `target`."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def forward(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    servers: list[asyncio.Server] = []

    async def listen_later() -> None:
        await asyncio.sleep(delay)
        servers.append(await asyncio.start_server(forward, "127.0.0.1", port))

    opener = asyncio.create_task(listen_later())
    try:
        yield
    finally:
        opener.cancel()
        for server in servers:
            server.close()


def test_start_up_waits_for_a_postgres_port_that_starts_listening_late(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", json=True)
    real = make_url(postgres_url)
    port = _refused_port()
    late = real.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)

    async def scenario() -> float:
        database = Database(late)
        settings = ServiceSettings(database_url=late, database_wait_seconds=15)
        started = time.monotonic()
        try:
            async with _forwarder_after(1.5, (real.host or "127.0.0.1", real.port or 5432), port):
                await wait_for_database(database, settings)
                return time.monotonic() - started
        finally:
            await database.dispose()

    assert 1.5 <= asyncio.run(scenario()) < 6.0
    out = capsys.readouterr().out
    assert len(_events(out, "database_waiting")) >= 2
    assert _events(out, "database_reachable")


def test_start_up_gives_up_after_the_bound_with_a_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", json=True)
    url = f"postgresql://iro:s3cret-password@127.0.0.1:{_refused_port()}/reviews"
    database = Database(url)
    settings = ServiceSettings(database_url=url, database_wait_seconds=1.5)
    started = time.monotonic()
    with pytest.raises(DatabaseNeverCameUp) as raised:
        asyncio.run(wait_for_database(database, settings))
    elapsed = time.monotonic() - started
    asyncio.run(database.dispose())
    assert 1.5 <= elapsed < 3.0
    message = str(raised.value)
    assert "did not answer within 1.5 s" in message
    assert "IRO_DATABASE_WAIT_SECONDS" in message
    out = capsys.readouterr().out
    assert len(_events(out, "database_waiting")) >= 3  # 0.2 + 0.4 + 0.8 < 1.5
    assert _events(out, "database_unreachable")
    for secret in ("s3cret-password", "iro:", "127.0.0.1"):
        assert secret not in message + out


def test_a_file_that_is_not_a_database_fails_at_once(tmp_path: Path) -> None:
    """Waiting cannot mend what the database refuses: that fails without the wait."""
    path = tmp_path / "not-a.db"
    path.write_bytes(b"this is not an SQLite database file, it is text" * 100)
    database = Database(f"sqlite+aiosqlite:///{path}")
    settings = ServiceSettings(database_url=database.url, database_wait_seconds=30)
    started = time.monotonic()
    with pytest.raises(Exception, match="not a database"):
        asyncio.run(wait_for_database(database, settings))
    asyncio.run(database.dispose())
    assert time.monotonic() - started < 2.0


def test_the_service_starts_once_its_database_appears(
    make_app: Callable[..., FastAPI], database_url: str, tmp_path: Path
) -> None:
    if not is_sqlite(normalise_url(database_url)):
        pytest.skip("the late database here is a SQLite folder; PostgreSQL is covered above")
    folder = tmp_path / "later"
    url = f"sqlite+aiosqlite:///{folder / 'service.db'}"
    app = make_app(
        migrate=False, database_url=url, database_wait_seconds=10, migrate_on_startup=True
    )
    timer = threading.Timer(1.0, folder.mkdir)
    timer.start()
    try:
        with TestClient(app) as client:  # the lifespan waits for the database
            assert client.get("/kit/health/ready").status_code == 200
    finally:
        timer.cancel()
