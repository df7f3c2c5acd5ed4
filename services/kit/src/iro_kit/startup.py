"""Start-up: wait for the database with backoff instead of exiting.

A service and its database are started together (compose, a host reboot, a rolling restart of
PostgreSQL), so the service is often up first. Exiting at once would leave the restart to a
supervisor that may not exist (`iro serve` on a laptop); waiting a bounded time instead lets
both come up in any order, and a database that never comes is still a clear failure.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from sqlalchemy import text

from iro_kit.errors import database_unavailable
from iro_kit.logging import get_logger

_log = get_logger("iro_kit.startup")

FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 5.0
# A database created by an init script may not exist yet while the server already answers.
_NOT_CREATED_YET = "3D000"


class DatabaseNeverCameUp(RuntimeError):
    """The database did not answer within `database_wait_seconds`; the service cannot start."""


def _worth_waiting_for(exc: BaseException) -> bool:
    if database_unavailable(exc):
        return True
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == _NOT_CREATED_YET


async def _ping(database: Any) -> None:
    async with database.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def wait_for_database(database: Any, settings: Any) -> None:
    """Return once `SELECT 1` succeeds; retry with doubling delays for `database_wait_seconds`.

    Only failures that mean "not there yet" are retried; a wrong password or a statement the
    server refuses fails at once, since waiting cannot fix it. Logs name the attempt and
    the delay, never the URL (it may carry a password).
    """
    budget = float(settings.database_wait_seconds)
    deadline = time.monotonic() + budget
    delay = FIRST_DELAY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            await _ping(database)
        except Exception as exc:
            if not _worth_waiting_for(exc):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                _log.error(
                    "database_unreachable",
                    attempts=attempt,
                    waited_seconds=budget,
                    error_type=type(exc).__qualname__,
                )
                prefix = str(getattr(settings, "model_config", {}).get("env_prefix", ""))
                raise DatabaseNeverCameUp(
                    f"The database did not answer within {budget:g} s ({attempt} attempts; "
                    f"last error {type(exc).__qualname__}). Check that it is running and "
                    f"reachable, or raise {prefix}DATABASE_WAIT_SECONDS."
                ) from exc
            pause = min(delay, left)
            _log.warning(
                "database_waiting",
                attempt=attempt,
                delay_seconds=round(pause, 3),
                error_type=type(exc).__qualname__,
            )
            await anyio.sleep(pause)
            delay = min(delay * 2, MAX_DELAY_SECONDS)
            continue
        if attempt > 1:
            _log.info("database_reachable", attempts=attempt)
        return
