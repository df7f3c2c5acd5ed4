"""An import job: read the return, load its children a chunk at a time, keep score.

Each chunk of children is one transaction (each child in its own savepoint inside it), and the
job's progress is updated in the same transaction, so what `GET` on the job shows is always what
the database holds. A job interrupted by a shutdown is marked failed; importing the same return
again finishes it (a re-import changes nothing that was already loaded).

A job runs under a lease (reviews_api.imports.leases): each transaction begins by renewing it,
and a heartbeat renews it between. The files stay in `import_upload` until the job ends, and
each chunk's transaction records the chunks done and the tally so far, so a job whose process
died is resumed by a sweep from the chunk after the last committed one, and ends with the
summary an uninterrupted run would have given. Reading the return again gives the same
children in the same order: it is read as of the day the job began (`as_of`).
"""

from __future__ import annotations

import asyncio
import gc
import struct
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import Database
from iro_kit.logging import get_logger
from iro_kit.schedule import ScheduleRules
from reviews_api.imports import leases
from reviews_api.imports.files import UnreadableUpload, Upload
from reviews_api.imports.leases import Lease, LeaseLost, LeaseSettings
from reviews_api.imports.loader import ChildLoaded, LoadSettings, load_children
from reviews_api.imports.plan import ChildPlan, ImportIssue, ReadReturn
from reviews_api.imports.ssda903 import read_return
from reviews_api.models import ImportJob, ImportProblem, ImportUpload

CHUNK = 500  # children per transaction
_log = get_logger("reviews_api.imports")

Progress = Callable[[ImportJob], None]


async def create_job(
    session: AsyncSession,
    created_by: str,
    files: Sequence[Upload],
    *,
    as_of: date | None = None,
    year_ending: date | None = None,
    lease: LeaseSettings | None = None,
    owner: str | None = None,
) -> ImportJob:
    """A queued job, its files kept, already under a lease (`job.lease_owner`) so that no
    sweep takes it before `run_job` starts it. On PostgreSQL each file goes in by a binary
    COPY, a piece at a time (`_upload_copy`)."""
    lease = lease or LeaseSettings()
    job = ImportJob(
        id=uuid.uuid4(),
        kind="ssda903",
        status="queued",
        created_by=created_by,
        files=[{"name": f.name, "bytes": len(f.content)} for f in files],
        as_of=as_of,
        requested_year_ending=year_ending,
        attempts=1,
    )
    for name, value in Lease(job.id, owner or leases.new_owner(), lease).values().items():
        setattr(job, name, value)
    session.add(job)
    await session.flush()
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        raw = (await connection.get_raw_connection()).driver_connection
        for position, upload in enumerate(files):
            await raw.copy_to_table(
                ImportUpload.__tablename__,
                source=_upload_copy(job.id, position, upload),
                columns=["job_id", "position", "name", "content"],
                format="binary",
            )
        return job
    for position, upload in enumerate(files):
        # One statement a file: a statement holding every file at once costs several copies
        # of the whole return in memory while it is sent (bench/import_903_bench.py).
        session.add(
            ImportUpload(job_id=job.id, position=position, name=upload.name, content=upload.content)
        )
        await session.flush()
    return job


COPY_PIECE = 256 * 1024  # bytes of a file sent at a time


async def _upload_copy(
    job_id: uuid.UUID, position: int, upload: Upload
) -> AsyncIterator[bytes | memoryview]:
    """One `import_upload` row in PostgreSQL's binary COPY format, the file's bytes sent a
    piece at a time: a statement binding the whole file builds several copies of it in memory
    while it is sent, and the memory they took stays with the process (bench/import_903_bench.py
    at 100,000 children)."""
    name = upload.name.encode("utf-8")
    content = memoryview(upload.content)
    yield b"".join(
        (
            b"PGCOPY\n\xff\r\n\x00",
            struct.pack("!ii", 0, 0),  # no flags, no header extension
            struct.pack("!hi", 4, 16),  # 4 fields; job_id, a uuid
            job_id.bytes,
            struct.pack("!ii", 4, position),  # position, an integer
            struct.pack("!i", len(name)),
            name,
            struct.pack("!i", len(content)),
        )
    )
    for start in range(0, len(content), COPY_PIECE):
        yield content[start : start + COPY_PIECE]
    yield struct.pack("!h", -1)  # the end of the rows


async def resume_job(
    database: Database,
    lease: Lease,
    *,
    rules: ScheduleRules,
    progress: Progress | None = None,
) -> None:
    """Run a job taken over by a sweep from where its last run stopped, with its kept files,
    as of the day it began. Never raises, as run_job."""
    async with database.transaction() as session:
        job = await session.get(ImportJob, lease.job_id)
        assert job is not None
        as_of, year_ending = job.as_of, job.requested_year_ending
        uploads = [
            Upload(row.name, row.content)
            for row in await session.scalars(
                select(ImportUpload)
                .where(ImportUpload.job_id == lease.job_id)
                .order_by(ImportUpload.position)
            )
        ]
    _log.info("import_resumed", job_id=str(lease.job_id), chunks_done=job.chunks_done)
    await run_job(
        database,
        lease.job_id,
        uploads,
        rules=rules,
        today=as_of or datetime.now(UTC).date(),
        year_ending=year_ending,
        progress=progress,
        lease=lease,
    )


async def run_job(
    database: Database,
    job_id: uuid.UUID,
    uploads: list[Upload],
    *,
    rules: ScheduleRules,
    today: date,
    year_ending: date | None = None,
    progress: Progress | None = None,
    lease: Lease | LeaseSettings | None = None,
) -> None:
    """Run an import to the end. Never raises: a failure is recorded on the job.

    `lease`: the lease held (`create_job`'s, or a sweep's for a resumed job), or the settings
    of one to take as the owner `create_job` gave the job. A run whose lease is taken over
    stops without writing.
    """
    held = lease if isinstance(lease, Lease) else None
    try:
        if held is None:
            held = await _first_lease(database, job_id, lease or LeaseSettings())
        async with leases.heartbeat(database, held):
            with _fewer_collections():
                await _run(database, held, uploads, rules, today, year_ending, progress)
    except LeaseLost:
        _log.warning("import_lease_lost", job_id=str(job_id))
    except asyncio.CancelledError:
        await _fail(database, held, "Interrupted by a shutdown; import the return again.")
        raise
    except UnreadableUpload as exc:
        await _fail(database, held, str(exc))
    except Exception:
        _log.exception("import_failed", job_id=str(job_id))
        await _fail(database, held, "The import failed unexpectedly; it has been logged.")


async def _first_lease(database: Database, job_id: uuid.UUID, settings: LeaseSettings) -> Lease:
    """The lease create_job took (or, for a job made without one, a new one)."""
    async with database.transaction() as session:
        owner = await session.scalar(select(ImportJob.lease_owner).where(ImportJob.id == job_id))
        lease = Lease(job_id, owner or leases.new_owner(), settings)
        if not await leases.take(session, job_id, lease, only_expired=False):
            lease.lost = True
    return lease


_running = 0
_thresholds = gc.get_threshold()


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A load makes hundreds of thousands of short-lived ORM objects; collecting the youngest
    generation every 700 allocations spends a fifth of the time (bench/import_903_bench.py).
    The usual thresholds come back when the last running import ends."""
    global _running, _thresholds
    if _running == 0:
        _thresholds = gc.get_threshold()
        gc.set_threshold(50_000, 20, 100)
    _running += 1
    try:
        yield
    finally:
        _running -= 1
        if _running == 0:
            gc.set_threshold(*_thresholds)


async def _run(
    database: Database,
    lease: Lease,
    uploads: list[Upload],
    rules: ScheduleRules,
    today: date,
    year_ending: date | None,
    progress: Progress | None,
) -> None:
    job_id = lease.job_id
    if lease.lost:
        raise LeaseLost(f"import {job_id} is held by another run")
    async with database.transaction() as session:
        await lease.fence(session)
        await _set(
            session,
            job_id,
            status="running",
            started_at=func.coalesce(ImportJob.started_at, datetime.now(UTC)),
            as_of=func.coalesce(ImportJob.as_of, today),
            requested_year_ending=func.coalesce(ImportJob.requested_year_ending, year_ending),
        )
        job = await session.get(ImportJob, job_id, populate_existing=True)
        assert job is not None
        chunks_done, saved, created_by = job.chunks_done, job.tally, job.created_by
    read = await asyncio.to_thread(read_return, uploads, today, year_ending)
    tally = _Tally(read)
    settings = LoadSettings(rules, read.year_ending, created_by)
    if chunks_done is None or saved is None:  # the first run, or one that died reading
        chunks_done = 0
        async with database.transaction() as session:
            await lease.fence(session)
            await _add_issues(session, job_id, 0, read.issues)
            await _set(
                session,
                job_id,
                year_ending=read.year_ending,
                rows_read=read.rows,
                children_total=len(read.children) + len(read.rejected_children),
                children_done=len(read.rejected_children),
                children_rejected=len(read.rejected_children),
                problem_count=len(read.issues),
                files=tally.files(),
                chunks_done=0,
                tally=tally.saved(),
            )
            await _report(session, job_id, progress)
    else:
        done = chunks_done * int(saved.get("chunk", CHUNK))
        tally.restore(saved, await asyncio.to_thread(_external_ids, read, done))
    size = tally.chunk
    for number, start in enumerate(range(chunks_done * size, len(read.children), size)):
        chunk = await asyncio.to_thread(_children, read, start, start + size)
        async with database.transaction() as session:
            await lease.fence(session)
            loaded = await load_children(session, chunk, settings)
            issues = tally.add(loaded)
            await _add_issues(session, job_id, tally.positions, issues)
            tally.positions += len(issues)
            await _set(
                session,
                job_id,
                **tally.progress(),
                chunks_done=chunks_done + number + 1,
                tally=tally.saved(),
            )
            await _report(session, job_id, progress)
    async with database.transaction() as session:
        await lease.fence(session)
        await _set(
            session,
            job_id,
            status="finished",
            finished_at=datetime.now(UTC),
            files=tally.files(),
            summary=tally.summary(await _by_rule(session, job_id)),
            lease_expires_at=None,
        )
        await leases.forget_files(session, job_id)
        await _report(session, job_id, progress)


def _children(read: ReadReturn, start: int, stop: int) -> list[ChildPlan]:
    """The plans of children `start` to `stop`: for a large return, unpacked a part at a time
    (ssda903.PartedChildren), in a thread as the reading was."""
    return list(read.children[start:stop])


def _external_ids(read: ReadReturn, stop: int) -> list[str]:
    """The external ids of the first `stop` children, a chunk's plans at a time."""
    return [
        plan.external_id
        for start in range(0, stop, CHUNK)
        for plan in _children(read, start, min(start + CHUNK, stop))
    ]


class _Tally:
    """Counts as the chunks are loaded, for progress and the final summary."""

    def __init__(self, read: ReadReturn) -> None:
        self.read = read
        self.positions = len(read.issues)
        self.outcomes: Counter[str] = Counter(rejected=len(read.rejected_children))
        self.changes: Counter[str] = Counter()
        self.codes: Counter[str] = Counter(i.code for i in read.issues)
        # Rows loaded of each file, counted as each child loads (not a set of every child).
        self.loaded = [0] * len(read.files)
        self.refused: list[str] = []  # children the load refused (not the reading)
        self.chunk = CHUNK

    def add(self, loaded: list[ChildLoaded]) -> list[ImportIssue]:
        issues = []
        for child in loaded:
            self.outcomes[child.outcome] += 1
            self.changes.update(child.changes)
            if child.outcome != "rejected":
                self._count_loaded(child.external_id)
            else:
                self.refused.append(child.external_id)
            issues.extend(child.issues)
        self.codes.update(i.code for i in issues)
        return issues

    def saved(self) -> dict[str, object]:
        """What a resumed run needs to carry on counting, stored with each chunk."""
        return {
            "positions": self.positions,
            "outcomes": dict(self.outcomes),
            "changes": dict(self.changes),
            "codes": dict(self.codes),
            "refused": self.refused,
            "chunk": self.chunk,
        }

    def restore(self, saved: dict[str, Any], done: list[str]) -> None:
        """The tally as the last committed chunk left it; `done`: the children (external ids)
        of the chunks committed, each loaded unless the load refused it."""
        self.positions = int(saved["positions"])
        self.outcomes = Counter(saved["outcomes"])
        self.changes = Counter(saved["changes"])
        self.codes = Counter(saved["codes"])
        self.refused = list(saved["refused"])
        self.chunk = int(saved.get("chunk", CHUNK))
        refused = set(self.refused)
        self.loaded = [0] * len(self.read.files)
        for child in done:
            if child not in refused:
                self._count_loaded(child)

    def _count_loaded(self, child: str) -> None:
        for at, report in enumerate(self.read.files):
            if report.used:
                self.loaded[at] += report.rows_by_child.get(child, 0)

    def progress(self) -> dict[str, int]:
        done = sum(self.outcomes.values())
        return {
            "children_done": done,
            "children_loaded": done - self.outcomes["rejected"],
            "children_rejected": self.outcomes["rejected"],
            "problem_count": self.positions,
        }

    def files(self) -> list[dict[str, object]]:
        return [
            {
                "name": f.name,
                "kind": f.kind.value,
                "rows": f.rows,
                "blank_lines": f.blank_lines,
                **f.counts_loaded(loaded),
                "unknown_columns": f.unknown_columns,
                "note": f.note,
            }
            for f, loaded in zip(self.read.files, self.loaded, strict=True)
        ]

    def summary(self, by_rule: list[dict[str, Any]]) -> dict[str, object]:
        # Every count even for a return of no files: a job must always read as its schema says.
        rows = Counter[str](
            dict.fromkeys(("rows", "loaded", "rejected", "held_back", "ignored"), 0)
        )
        for entry in self.files():
            rows.update({k: entry[k] for k in ("rows", "loaded", "rejected", "held_back")})
            rows["ignored"] += entry["ignored"]  # type: ignore[operator]
        return {
            "rows": dict(rows),
            "children": {
                name: self.outcomes[name]
                for name in ("created", "updated", "unchanged", "rejected")
            },
            **{
                record: {
                    outcome: self.changes[f"{record}.{outcome}"]
                    for outcome in ("created", "updated")
                }
                for record in ("episodes", "reviews", "outcomes")
            },
            "problems": {
                "total": self.positions,
                "warnings": sum(g["problems"] for g in by_rule if g["severity"] == "warning"),
                "by_code": dict(sorted(self.codes.items())),
                "by_rule": by_rule,
            },
        }


async def _set(session: AsyncSession, job_id: uuid.UUID, **values: object) -> None:
    await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


async def _report(session: AsyncSession, job_id: uuid.UUID, progress: Progress | None) -> None:
    if progress is not None:
        job = await session.get(ImportJob, job_id, populate_existing=True)
        assert job is not None
        progress(job)


async def _by_rule(session: AsyncSession, job_id: uuid.UUID) -> list[dict[str, Any]]:
    """The job's problems grouped by DfE rule, code and severity, the most frequent first, each
    with the number of children and the first problem's message."""
    key = (ImportProblem.dfe_rule, ImportProblem.code, ImportProblem.severity)
    groups = (
        await session.execute(
            select(
                *key,
                func.count(),
                func.count(func.distinct(ImportProblem.child)),
                func.min(ImportProblem.position),
            )
            .where(ImportProblem.job_id == job_id)
            .group_by(*key)
        )
    ).all()
    firsts = [group[5] for group in groups]
    messages = dict(
        (
            await session.execute(
                select(ImportProblem.position, ImportProblem.message).where(
                    ImportProblem.job_id == job_id, ImportProblem.position.in_(firsts)
                )
            )
        ).all()
    )
    rows = [
        {
            "dfe_rule": rule,
            "code": code,
            "severity": severity,
            "problems": problems,
            "children": children,
            "example": messages[first],
        }
        for rule, code, severity, problems, children, first in groups
    ]
    return sorted(rows, key=lambda g: (-g["problems"], g["dfe_rule"] or "", g["code"]))


async def _add_issues(
    session: AsyncSession, job_id: uuid.UUID, first: int, issues: list[ImportIssue]
) -> None:
    rows = [
        {
            "job_id": job_id,
            "position": first + n,
            "file": issue.file and issue.file[-300:],
            "line": issue.line,
            "child": issue.child and issue.child[:100],
            "field": issue.field,
            "code": issue.code,
            "message": issue.message,
            "dfe_rule": issue.dfe_rule,
            "severity": issue.severity,
        }
        for n, issue in enumerate(issues)
    ]
    for start in range(0, len(rows), 1000):
        await session.execute(insert(ImportProblem), rows[start : start + 1000])


async def _fail(database: Database, lease: Lease | None, reason: str) -> None:
    """Record the failure, if the job is still this run's (a taken-over run leaves it be; a run
    that never got its lease leaves it to the sweep)."""
    if lease is None or not await leases.fail(database, lease, reason):
        _log.warning("import_not_marked_failed", job_id=str(lease and lease.job_id))
