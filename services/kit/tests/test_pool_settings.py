"""PostgreSQL's connection pool is sized by settings, bounded, and reaches the service's engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict
from sqlalchemy import event

from iro_kit.app import create_service_app
from iro_kit.db import Database
from iro_kit.settings import ServiceSettings

from .conftest import SPEC

# Never connected to: building an engine opens no connection.
UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/never"


class ReviewsLikeSettings(ServiceSettings):
    """A service's settings: its own prefix, as reviews-api's `REVIEWS_`."""

    model_config = SettingsConfigDict(env_prefix="REVIEWS_", extra="ignore")


def test_the_pool_defaults_to_20_connections_and_10_overflow() -> None:
    settings = ServiceSettings(environment="development")
    assert (settings.database_pool_size, settings.database_max_overflow) == (20, 10)
    app = create_service_app(
        SPEC, settings.model_copy(update={"database_url": UNREACHABLE_POSTGRES})
    )
    pool = app.state.database.engine.pool
    assert pool.size() == 20
    assert pool._max_overflow == 10  # SQLAlchemy has no getter for it


def test_the_environment_sizes_the_engines_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIEWS_ENVIRONMENT", "development")
    monkeypatch.setenv("REVIEWS_DATABASE_URL", UNREACHABLE_POSTGRES)
    monkeypatch.setenv("REVIEWS_DATABASE_POOL_SIZE", "30")
    monkeypatch.setenv("REVIEWS_DATABASE_MAX_OVERFLOW", "0")
    app = create_service_app(SPEC, ReviewsLikeSettings())
    pool = app.state.database.engine.pool
    assert pool.size() == 30
    assert pool._max_overflow == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_POOL_SIZE", "0", "Input should be greater than or equal to 1"),
        ("DATABASE_POOL_SIZE", "201", "Input should be less than or equal to 200"),
        (
            "DATABASE_POOL_SIZE",
            "many",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ("DATABASE_MAX_OVERFLOW", "-1", "Input should be greater than or equal to 0"),
        ("DATABASE_MAX_OVERFLOW", "201", "Input should be less than or equal to 200"),
    ],
)
def test_a_pool_setting_out_of_range_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv("REVIEWS_ENVIRONMENT", "development")
    monkeypatch.setenv(f"REVIEWS_{name}", value)
    with pytest.raises(ValidationError) as refused:
        ReviewsLikeSettings()
    (error,) = refused.value.errors()
    assert error["loc"] == (name.lower(),)
    assert error["msg"] == message


def test_sqlite_keeps_its_own_pool(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}"
    default = Database(url).engine.pool
    sized = Database(url, pool_size=30, max_overflow=0).engine.pool
    assert type(sized) is type(default)
    assert sized.size() == default.size() == 5


def test_a_pool_as_large_as_the_load_opens_each_connection_once(postgres_url: str) -> None:
    """16 transactions at once, twice: 20 pooled open 16 connections in all."""

    async def connections_opened(database: Database) -> int:
        opened = 0

        def count(*_: object) -> None:
            nonlocal opened
            opened += 1

        event.listen(database.engine.sync_engine, "connect", count)

        async def one(together: asyncio.Barrier) -> None:
            async with database.transaction() as session:
                await session.connection()
                await together.wait()  # all 16 hold a connection at once

        try:
            for _ in range(2):
                together = asyncio.Barrier(16)
                await asyncio.gather(*(one(together) for _ in range(16)))
        finally:
            await database.dispose()
        return opened

    assert asyncio.run(connections_opened(Database(postgres_url, pool_size=20))) == 16
    # 5 pooled (SQLAlchemy's default) + 11 overflow: the 11 are closed as they are given back,
    # and opened again for the second 16.
    assert (
        asyncio.run(connections_opened(Database(postgres_url, pool_size=5, max_overflow=11))) == 27
    )
