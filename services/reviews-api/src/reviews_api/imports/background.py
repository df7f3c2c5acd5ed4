"""Import jobs run as asyncio tasks in the service's own process, and what starts and ends them.

The app keeps a reference to each running task (the event loop holds only weak ones) and
cancels them at shutdown, before the database is closed, so each is marked failed rather than
left `running` for ever. A process that dies without a shutdown leaves its jobs' leases to
expire: `imports_lifecycle` sweeps them at start-up and every `import_lease_seconds`, resuming
each from its last committed chunk in this process or marking it failed (reviews_api.imports.
leases).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from reviews_api.imports import jobs, leases
from reviews_api.imports.leases import Lease, LeaseSettings


def _tasks(app: FastAPI) -> set[asyncio.Task[None]]:
    tasks = getattr(app.state, "background_tasks", None)
    if tasks is None:
        tasks = app.state.background_tasks = set()
    return tasks


def start_in_background(app: FastAPI, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.get_running_loop().create_task(work)
    tasks = _tasks(app)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def cancel_background(app: FastAPI) -> None:
    tasks = list(_tasks(app))
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def lease_settings(app: FastAPI) -> LeaseSettings:
    settings = app.state.settings
    return LeaseSettings(settings.import_lease_seconds, settings.import_heartbeat_seconds)


@asynccontextmanager
async def imports_lifecycle(app: FastAPI) -> AsyncIterator[None]:
    """Inside the kit's lifespan (the database is up and migrated): sweep expired leases before
    serving, then every `import_lease_seconds`; at shutdown stop the sweep and cancel the jobs
    before the kit closes the database."""
    database = app.state.database
    settings = lease_settings(app)

    async def resume(lease: Lease) -> None:
        start_in_background(app, jobs.resume_job(database, lease, rules=app.state.schedule_rules))

    await leases.sweep_once(database, settings, resume)
    sweeper = asyncio.get_running_loop().create_task(
        leases.sweep_forever(database, settings, resume, first_delay=settings.lease_seconds)
    )
    try:
        yield
    finally:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
        await cancel_background(app)
