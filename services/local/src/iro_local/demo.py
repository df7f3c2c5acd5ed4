"""Demo data for the one-command run: a synthetic authority loaded on first start.

`iro serve` on empty development databases loads the authority of `iro_synthetic` (seed
2026, 1,300 children over five years: about 550 looked after today, 20 IROs, disputes at every
stage) through the services' own routes, from a process of its own (`python -m iro_synthetic
load`) beside the server, once the server answers. Those looked after today come first, so
today's worklists and scorecard fill in first.

It never loads when `IRO_DEMO` is `off` (or `0`, `false`, `no`), when any service is not in
the development environment, or when reviews-api's or drp-api's database already holds a
child, an IRO or a dispute. The console says which, and that the data is synthetic.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date

from sqlalchemy import text

OFF = frozenset({"off", "0", "false", "no"})
SEED = 2026
CHILDREN = 1300
YEARS = 5
READY_TIMEOUT = 120.0


def wanted() -> bool:
    return os.environ.get("IRO_DEMO", "on").strip().lower() not in OFF


async def _holds_data(url: str, tables: tuple[str, ...]) -> bool:
    from iro_kit.db import Database

    database = Database(url)
    try:
        async with database.sessions() as session:
            for table in tables:
                found = await session.scalar(text(f"SELECT 1 FROM {table} LIMIT 1"))  # noqa: S608
                if found is not None:
                    return True
        return False
    finally:
        await database.dispose()


def reason_not_to_load() -> str | None:
    """Why the demo does not load here, or None if it does."""
    from drp_api.settings import Settings as DrpSettings
    from reviews_api.settings import Settings as ReviewsSettings
    from scorecard_api.settings import Settings as ScorecardSettings

    if not wanted():
        return "IRO_DEMO is off"
    settings = [ReviewsSettings(), DrpSettings(), ScorecardSettings()]
    if not all(s.is_development for s in settings):
        return "not every service is in the development environment"
    reviews, drp = settings[0].database_url, settings[1].database_url
    if asyncio.run(_holds_data(reviews, ("child", "iro"))) or asyncio.run(
        _holds_data(drp, ("dispute",))
    ):
        return "the databases already hold data"
    return None


def command(base: str, today: date) -> list[str]:
    return [
        sys.executable,
        "-m",
        "iro_synthetic",
        "load",
        "--url",
        base,
        "--wait",
        str(READY_TIMEOUT),
        "--seed",
        str(SEED),
        "--children",
        str(CHILDREN),
        "--years",
        str(YEARS),
        "--end",
        today.isoformat(),
        "--label",
        "demo",
    ]


def start(base: str, say: Callable[[str], None] = print) -> subprocess.Popen[bytes] | None:
    """Start loading the demo, in a process of its own beside the server (its console lines
    start `demo:`), if it should load here; say so either way."""
    reason = reason_not_to_load()
    if reason is not None:
        say(f"demo: no demo data loaded ({reason})")
        return None
    say(
        "demo: loading a DEMO authority: synthetic children, IROs and disputes (seed "
        f"{SEED}, {CHILDREN:,} children over {YEARS} years, about 550 looked after today). "
        "Nothing in it is real. To start empty: IRO_DEMO=off make run (with an empty var/)."
    )
    return subprocess.Popen(command(base, date.today()))  # noqa: S603
