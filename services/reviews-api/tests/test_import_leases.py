"""Import jobs survive crashes: a lease with a heartbeat, fencing, and a sweep that reclaims.

A process killed mid-import is played here by a run that stops dead after a chunk has
committed (an exception no handler catches, as SIGKILL gives none): the job is left `running`
under a lease nobody renews. tests/test_fault_import_kill.py kills a real process.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.db import Database
from iro_kit.migrations import upgrade_to_head
from iro_kit.schedule import ScheduleRules
from reviews_api.app import SPEC, create_app
from reviews_api.imports import jobs, leases
from reviews_api.imports.files import Upload
from reviews_api.imports.leases import Lease, LeaseSettings
from reviews_api.models import Child, ImportJob, ImportProblem, ImportUpload
from reviews_api.settings import Settings

from .conftest import SUPPORT
from .imports import DATA, IMPORTS, wait_for

YEAR1 = [Upload(p.name, p.read_bytes()) for p in sorted((DATA / "year1").glob("*.csv"))]
RULES = ScheduleRules(WorkingDayCalendar())
TODAY = datetime(2018, 5, 1, tzinfo=UTC).date()
# What an uninterrupted import of year1 gives (test_903_import.py).
CHILDREN = {"created": 2, "updated": 0, "unchanged": 0, "rejected": 3}
ROWS = {"rows": 22, "loaded": 13, "rejected": 3, "held_back": 5, "ignored": 1}


class Killed(BaseException):
    """The process died here: no handler runs, nothing is marked."""


def _run(database_url: str, work: Callable[[Database], Coroutine[Any, Any, Any]]) -> Any:
    async def main() -> Any:
        database = Database(database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    return asyncio.run(main())


async def _job(database: Database, job_id: uuid.UUID) -> ImportJob:
    async with database.transaction() as session:
        job = await session.get(ImportJob, job_id)
        assert job is not None
        return job


async def _count(database: Database, query: Any) -> int:
    async with database.transaction() as session:
        return int(await session.scalar(query) or 0)


async def _expire(database: Database, job_id: uuid.UUID) -> None:
    """Time passes without a heartbeat: the lease is out of date."""
    async with database.transaction() as session:
        await session.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )


async def _killed_after_chunks(
    database: Database, committed: int, lease: LeaseSettings | None = None
) -> uuid.UUID:
    """An import whose process dies once `committed` chunks (of one child) have committed."""
    async with database.transaction() as session:
        job = await jobs.create_job(session, "support-1", YEAR1, as_of=TODAY, lease=lease)
    reports = 0

    def progress(_: ImportJob) -> None:
        nonlocal reports
        reports += 1
        if reports == committed + 2:  # the read's report, then one per chunk: die in the next
            raise Killed

    with pytest.raises(Killed):
        await jobs.run_job(
            database, job.id, YEAR1, rules=RULES, today=TODAY, progress=progress, lease=lease
        )
    return job.id


@pytest.fixture
def migrated(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    upgrade_to_head(SPEC.script_location, database_url)
    monkeypatch.setattr(jobs, "CHUNK", 1)  # year1's two loadable children: two chunks
    return database_url


def _start(database_url: str, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(database_url=database_url, **settings)))


def test_a_job_whose_process_died_is_resumed_at_start_up_from_its_last_chunk(
    migrated: str,
) -> None:
    async def crash(database: Database) -> tuple[uuid.UUID, int, ImportJob]:
        job_id = await _killed_after_chunks(database, committed=1)
        children = await _count(database, select(func.count(Child.id)))
        await _expire(database, job_id)
        return job_id, children, await _job(database, job_id)

    job_id, children, dead = _run(migrated, crash)
    assert (dead.status, dead.chunks_done, children) == ("running", 1, 1)  # A1 only, whole

    with _start(migrated) as api:
        job = wait_for(api, f"{IMPORTS}/{job_id}")

    assert job["status"] == "finished", job
    assert job["summary"]["children"] == CHILDREN  # as if never interrupted
    assert job["summary"]["rows"] == ROWS
    assert job["summary"]["episodes"] == {"created": 4, "updated": 0}
    assert job["progress"]["problems"] == 3
    after = _run(migrated, lambda db: _job(db, job_id))
    assert (after.attempts, after.chunks_done, after.lease_expires_at) == (2, 2, None)
    assert _run(migrated, lambda db: _count(db, select(func.count(Child.id)))) == 2
    assert (
        _run(migrated, lambda db: _count(db, select(func.count()).select_from(ImportUpload))) == 0
    )


def test_a_job_without_its_files_is_failed_with_a_reason_never_left_running(
    migrated: str,
) -> None:
    async def crash(database: Database) -> uuid.UUID:
        job_id = await _killed_after_chunks(database, committed=1)
        async with database.transaction() as session:  # as a job from before its files were kept
            await leases.forget_files(session, job_id)
        await _expire(database, job_id)
        return job_id

    job_id = _run(migrated, crash)
    with _start(migrated) as api:
        job = api.get(f"{IMPORTS}/{job_id}", headers=SUPPORT).json()  # decided before serving

    assert (job["status"], job["failure"]) == ("failed", leases.INTERRUPTED)
    assert job["finished_at"] is not None
    assert job["progress"]["children_done"] == 4  # what committed stays: 3 refused on reading, A1


def test_a_job_that_keeps_killing_its_process_is_failed_not_resumed_for_ever(
    migrated: str,
) -> None:
    async def crash(database: Database) -> uuid.UUID:
        job_id = await _killed_after_chunks(database, committed=0)
        async with database.transaction() as session:
            await session.execute(
                update(ImportJob).where(ImportJob.id == job_id).values(attempts=leases.MAX_ATTEMPTS)
            )
        await _expire(database, job_id)
        return job_id

    job_id = _run(migrated, crash)
    with _start(migrated) as api:
        job = api.get(f"{IMPORTS}/{job_id}", headers=SUPPORT).json()

    assert job["status"] == "failed"
    assert job["failure"] == leases.TOO_MANY_ATTEMPTS.format(attempts=leases.MAX_ATTEMPTS)


def test_the_periodic_sweep_reclaims_a_job_while_the_service_runs(migrated: str) -> None:
    fast = {"import_lease_seconds": 0.5, "import_heartbeat_seconds": 0.1}
    with _start(migrated, **fast) as api:
        job_id = _run(migrated, lambda db: _killed_after_chunks(db, 0, LeaseSettings(0.5, 0.1)))
        running = api.get(f"{IMPORTS}/{job_id}", headers=SUPPORT).json()
        job = wait_for(api, f"{IMPORTS}/{job_id}", seconds=20)

    assert running["status"] == "running"
    assert (job["status"], job["summary"]["children"]) == ("finished", CHILDREN)


def test_the_heartbeat_renews_the_lease_while_a_long_read_commits_nothing(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow_read = jobs.read_return

    def read_return(*args: Any) -> Any:
        time.sleep(1.5)  # three times the lease
        return slow_read(*args)

    monkeypatch.setattr(jobs, "read_return", read_return)
    settings = LeaseSettings(lease_seconds=0.5, heartbeat_seconds=0.1)

    async def run(database: Database) -> tuple[list[datetime], list[int], ImportJob]:
        async with database.transaction() as session:
            job = await jobs.create_job(session, "support-1", YEAR1, as_of=TODAY, lease=settings)
        lease = Lease(job.id, job.lease_owner or "", settings)
        task = asyncio.create_task(
            jobs.run_job(database, job.id, YEAR1, rules=RULES, today=TODAY, lease=lease)
        )
        beats, swept = [], []
        for _ in range(3):
            await asyncio.sleep(0.4)
            beats.append(leases.aware((await _job(database, job.id)).heartbeat_at))
            swept.append(len((await leases.sweep(database, settings)).resumed))
        await task
        return beats, swept, await _job(database, job.id)

    beats, swept, job = _run(migrated, run)
    assert beats == sorted(beats) and len(set(beats)) == 3  # renewed between every look
    assert swept == [0, 0, 0]  # a live lease is never taken over
    assert (job.status, job.attempts) == ("finished", 1)


def test_fencing_a_zombie_writes_nothing_once_its_job_was_taken_over(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process paused past its lease (a long GC, a frozen VM) wakes after a sweep resumed the
    job elsewhere: its writes are refused, and the job loads once."""
    slow_read = jobs.read_return

    def read_return(*args: Any) -> Any:
        time.sleep(0.6)
        return slow_read(*args)

    monkeypatch.setattr(jobs, "read_return", read_return)
    settings = LeaseSettings(lease_seconds=30, heartbeat_seconds=20)

    async def run(database: Database) -> tuple[ImportJob, int, int]:
        async with database.transaction() as session:
            job = await jobs.create_job(session, "support-1", YEAR1, as_of=TODAY, lease=settings)
        zombie = Lease(job.id, job.lease_owner or "", settings)
        task = asyncio.create_task(
            jobs.run_job(database, job.id, YEAR1, rules=RULES, today=TODAY, lease=zombie)
        )
        await asyncio.sleep(0.2)  # the zombie is reading
        await _expire(database, job.id)
        [taken] = (await leases.sweep(database, settings)).resumed
        await task  # the zombie wakes and is fenced off before its first write
        assert zombie.lost
        problems = await _count(database, select(func.count()).select_from(ImportProblem))
        assert (problems, await _count(database, select(func.count(Child.id)))) == (0, 0)
        await jobs.resume_job(database, taken, rules=RULES)
        return (
            await _job(database, job.id),
            await _count(database, select(func.count(Child.id))),
            await _count(database, select(func.count()).select_from(ImportProblem)),
        )

    job, children, problems = _run(migrated, run)
    assert (job.status, job.lease_owner != "", children, problems) == ("finished", True, 2, 3)
    assert job.summary is not None and job.summary["children"] == CHILDREN


def test_a_stale_holder_cannot_fail_or_finish_a_job_it_lost(migrated: str) -> None:
    async def run(database: Database) -> tuple[bool, ImportJob]:
        async with database.transaction() as session:
            job = await jobs.create_job(session, "support-1", YEAR1, as_of=TODAY)
        stale = Lease(job.id, job.lease_owner or "")
        await _expire(database, job.id)
        [current] = (await leases.sweep(database, LeaseSettings())).resumed
        failed = await leases.fail(database, stale, "the zombie gives up")
        held = await current.renew(database)
        assert held and not await stale.renew(database)
        return failed, await _job(database, job.id)

    failed, job = _run(migrated, run)
    assert not failed
    assert (job.status, job.failure, job.attempts) == ("queued", None, 2)


def test_the_command_line_import_holds_a_lease_too(migrated: str, tmp_path: Path) -> None:
    from reviews_api.imports.cli import main

    assert main([str(DATA / "year1"), "--database-url", migrated]) == 0

    async def look(database: Database) -> ImportJob:
        async with database.transaction() as session:
            return (await session.scalars(select(ImportJob))).one()

    job = _run(migrated, look)
    assert job.status == "finished"
    assert (job.lease_owner or "").startswith("cli:")
    assert job.heartbeat_at is not None and job.lease_expires_at is None
