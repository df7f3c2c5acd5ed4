"""Import jobs run as asyncio tasks in the service's own process.

The app keeps a reference to each running task (the event loop holds only weak ones) and
cancels them at shutdown, before the database is closed, so each is marked failed rather than
left `running` for ever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from fastapi import FastAPI


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
