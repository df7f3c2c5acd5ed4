"""Import jobs hold a lease: a job whose process died is found and resumed or failed.

A job runs in one process, which may die at any moment (SIGKILL, the machine lost, out of
memory) without marking it. So a job is held under a lease: an owner token and an expiry, renewed
by a heartbeat every `import_heartbeat_seconds` and by every chunk it commits. A lease that has
expired (`import_lease_seconds` without a renewal) belongs to a dead or stuck process; a sweep,
at start-up and every `import_lease_seconds`, takes it over and either resumes the job from its
last committed chunk (its files are kept in `import_upload` until it ends) or marks it failed
with a reason. Nothing is ever left `running` with nobody behind it.

Fencing: every transaction a job commits begins by renewing its own lease, `UPDATE ... WHERE
lease_owner = <its token>`; if another holder took the job over, no row matches and the
transaction is rolled back (`LeaseLost`) before it has written anything. On PostgreSQL the
update holds the job's row lock until the commit, so a takeover waits for a chunk in flight and
then finds the lease renewed; on SQLite the writers are serial anyway. A resumed copy and a
zombie therefore never both write. Each run has its own token, even within one process.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import Database
from iro_kit.logging import get_logger
from reviews_api.models import ImportJob, ImportUpload

_log = get_logger("reviews_api.imports.leases")

ACTIVE = ("queued", "running")
# A job started this many times without ending (each run's process died) is failed, not
# resumed again: a return that kills the service every time must not do so for ever.
MAX_ATTEMPTS = 3
INTERRUPTED = (
    "Interrupted: the service stopped during the import and the files were not kept; "
    "import the return again."
)
TOO_MANY_ATTEMPTS = (
    "Interrupted: the service stopped during the import {attempts} times; import the return "
    "again (in smaller parts if it happens again)."
)


@dataclass(frozen=True, slots=True)
class LeaseSettings:
    """How long a lease lasts without renewal, and how often the heartbeat renews it."""

    lease_seconds: float = 60.0
    heartbeat_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_seconds < self.lease_seconds:
            raise ValueError("the heartbeat must come more often than the lease expires")


class LeaseLost(Exception):
    """The job is no longer this holder's (taken over after an expiry, or ended): stop, and
    write nothing more."""


_PROCESS = f"{socket.gethostname()[:80]}:{os.getpid()}"


def new_owner(kind: str = "service") -> str:
    """A token for one run of one job: which process, and which run within it."""
    return f"{kind}:{_PROCESS}:{uuid.uuid4().hex[:12]}"


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every one stored here is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(slots=True)
class Lease:
    """One holder's lease on one job."""

    job_id: uuid.UUID
    owner: str
    settings: LeaseSettings = field(default_factory=LeaseSettings)
    lost: bool = False

    def values(self) -> dict[str, object]:
        moment = now()
        return {
            "lease_owner": self.owner,
            "heartbeat_at": moment,
            "lease_expires_at": moment + timedelta(seconds=self.settings.lease_seconds),
        }

    async def fence(self, session: AsyncSession) -> None:
        """First statement of every transaction the job commits: renew the lease, or raise
        LeaseLost if it is no longer ours (the transaction then rolls back unwritten)."""
        result = await session.execute(
            update(ImportJob)
            .where(
                ImportJob.id == self.job_id,
                ImportJob.lease_owner == self.owner,
                ImportJob.status.in_(ACTIVE),
            )
            .values(**self.values())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            self.lost = True
            raise LeaseLost(f"import {self.job_id} is no longer held by {self.owner}")

    async def renew(self, database: Database) -> bool:
        """One heartbeat: False if the lease is no longer ours."""
        try:
            async with database.transaction() as session:
                await self.fence(session)
        except LeaseLost:
            return False
        return True


async def _beat(database: Database, lease: Lease) -> None:
    while True:
        await asyncio.sleep(lease.settings.heartbeat_seconds)
        try:
            held = await lease.renew(database)
        except Exception as exc:  # the database restarting: the next beat tries again
            _log.warning(
                "import_heartbeat_failed",
                job_id=str(lease.job_id),
                error_type=type(exc).__qualname__,
            )
            continue
        if not held:
            _log.warning("import_lease_lost", job_id=str(lease.job_id), owner=lease.owner)
            return


@asynccontextmanager
async def heartbeat(database: Database, lease: Lease) -> AsyncIterator[Lease]:
    """Renew the lease every `heartbeat_seconds` while the body runs (reading a large return
    takes a while and commits nothing). A lost lease is noticed by the body's next fence."""
    task = asyncio.get_running_loop().create_task(_beat(database, lease))
    try:
        yield lease
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def take(
    session: AsyncSession, job_id: uuid.UUID, lease: Lease, *, only_expired: bool
) -> bool:
    """Take the job's lease: from nobody or an expired holder (a takeover, `only_expired`),
    or also from a live holder that is this one (`only_expired=False`, the first run)."""
    moment = now()
    expired = or_(ImportJob.lease_expires_at.is_(None), ImportJob.lease_expires_at < moment)
    condition = expired if only_expired else or_(expired, ImportJob.lease_owner == lease.owner)
    result = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status.in_(ACTIVE), condition)
        .values(**lease.values(), attempts=ImportJob.attempts + (1 if only_expired else 0))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def fail(
    database: Database, lease: Lease, reason: str, *, session: AsyncSession | None = None
) -> bool:
    """Mark the job failed, if it is still ours; its kept files go. False if it was not."""

    async def _in(session: AsyncSession) -> None:
        await lease.fence(session)
        await session.execute(
            update(ImportJob)
            .where(ImportJob.id == lease.job_id)
            .values(status="failed", finished_at=now(), failure=reason, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        await forget_files(session, lease.job_id)

    try:
        if session is not None:
            await _in(session)
        else:
            async with database.transaction() as own:
                await _in(own)
    except LeaseLost:
        return False
    return True


async def forget_files(session: AsyncSession, job_id: uuid.UUID) -> None:
    """A job that has ended needs its files no more: they hold children's personal data."""
    await session.execute(delete(ImportUpload).where(ImportUpload.job_id == job_id))


@dataclass(slots=True)
class Swept:
    resumed: list[Lease] = field(default_factory=list)
    failed: list[uuid.UUID] = field(default_factory=list)


Resume = Callable[[Lease], Awaitable[None]]


async def sweep(database: Database, settings: LeaseSettings, kind: str = "service") -> Swept:
    """Take over every active job whose lease has expired; return those to resume (their
    files are kept, and they have not been started too often), having failed the others."""
    swept = Swept()
    async with database.transaction() as session:
        candidates = list(
            await session.scalars(
                select(ImportJob.id)
                .where(
                    ImportJob.status.in_(ACTIVE),
                    or_(ImportJob.lease_expires_at.is_(None), ImportJob.lease_expires_at < now()),
                )
                .order_by(ImportJob.created_at)
            )
        )
    for job_id in candidates:
        lease = Lease(job_id, new_owner(kind), settings)
        async with database.transaction() as session:
            if not await take(session, job_id, lease, only_expired=True):
                continue  # another process's sweep took it first, or it ended meanwhile
            job = await session.get(ImportJob, job_id, populate_existing=True)
            assert job is not None
            kept = await session.scalar(select(exists().where(ImportUpload.job_id == job_id)))
            previous = job.status
            if kept and job.attempts <= MAX_ATTEMPTS:
                swept.resumed.append(lease)
                decision = "resume"
            else:
                reason = (
                    TOO_MANY_ATTEMPTS.format(attempts=job.attempts - 1) if kept else INTERRUPTED
                )
                await fail(database, lease, reason, session=session)
                swept.failed.append(job_id)
                decision = "fail"
        _log.warning(
            "import_lease_expired",
            job_id=str(job_id),
            status=previous,
            attempts=job.attempts,
            chunks_done=job.chunks_done,
            decision=decision,
        )
    return swept


async def sweep_forever(
    database: Database, settings: LeaseSettings, resume: Resume, *, first_delay: float
) -> None:
    """The periodic sweep: every `lease_seconds` (a job's lease cannot expire faster). Never
    fatal: a sweep that fails (the database restarting) is logged and tried again."""
    await asyncio.sleep(first_delay)
    while True:
        await sweep_once(database, settings, resume)
        await asyncio.sleep(settings.lease_seconds)


async def sweep_once(database: Database, settings: LeaseSettings, resume: Resume) -> Swept:
    try:
        swept = await sweep(database, settings)
    except Exception as exc:
        _log.warning("import_sweep_failed", error_type=type(exc).__qualname__)
        return Swept()
    for lease in swept.resumed:
        await resume(lease)
    return swept
