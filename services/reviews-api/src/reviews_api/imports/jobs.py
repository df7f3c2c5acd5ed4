"""An import job: read the return, load its children a chunk at a time, keep score.

Each chunk of children is one transaction (each child in its own savepoint inside it), and the
job's progress is updated in the same transaction, so what `GET` on the job shows is always what
the database holds. A job interrupted by a shutdown is marked failed; importing the same return
again finishes it (a re-import changes nothing that was already loaded).
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import Database
from iro_kit.logging import get_logger
from iro_kit.schedule import ScheduleRules
from reviews_api.imports.files import UnreadableUpload, Upload
from reviews_api.imports.loader import ChildLoaded, LoadSettings, load_children
from reviews_api.imports.plan import ImportIssue, ReadReturn
from reviews_api.imports.ssda903 import read_return
from reviews_api.models import ImportJob, ImportProblem

CHUNK = 500  # children per transaction
_log = get_logger("reviews_api.imports")

Progress = Callable[[ImportJob], None]


async def create_job(session: AsyncSession, created_by: str, files: Sequence[Upload]) -> ImportJob:
    job = ImportJob(
        id=uuid.uuid4(),
        kind="ssda903",
        status="queued",
        created_by=created_by,
        files=[{"name": f.name, "bytes": len(f.content)} for f in files],
    )
    session.add(job)
    await session.flush()
    return job


async def run_job(
    database: Database,
    job_id: uuid.UUID,
    uploads: list[Upload],
    *,
    rules: ScheduleRules,
    today: date,
    year_ending: date | None = None,
    progress: Progress | None = None,
) -> None:
    """Run an import to the end. Never raises: a failure is recorded on the job."""
    try:
        with _fewer_collections():
            await _run(database, job_id, uploads, rules, today, year_ending, progress)
    except asyncio.CancelledError:
        await _fail(database, job_id, "Interrupted by a shutdown; import the return again.")
        raise
    except UnreadableUpload as exc:
        await _fail(database, job_id, str(exc))
    except Exception:
        _log.exception("import_failed", job_id=str(job_id))
        await _fail(database, job_id, "The import failed unexpectedly; it has been logged.")


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
    job_id: uuid.UUID,
    uploads: list[Upload],
    rules: ScheduleRules,
    today: date,
    year_ending: date | None,
    progress: Progress | None,
) -> None:
    async with database.transaction() as session:
        await _set(session, job_id, status="running", started_at=datetime.now(UTC))
    read = await asyncio.to_thread(read_return, uploads, today, year_ending)
    tally = _Tally(read)
    async with database.transaction() as session:
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
        )
        await _report(session, job_id, progress)
        settings = LoadSettings(rules, read.year_ending, await _created_by(session, job_id))
    for start in range(0, len(read.children), CHUNK):
        chunk = read.children[start : start + CHUNK]
        async with database.transaction() as session:
            loaded = await load_children(session, chunk, settings)
            issues = tally.add(loaded)
            await _add_issues(session, job_id, tally.positions, issues)
            tally.positions += len(issues)
            await _set(session, job_id, **tally.progress())
            await _report(session, job_id, progress)
    async with database.transaction() as session:
        await _set(
            session,
            job_id,
            status="finished",
            finished_at=datetime.now(UTC),
            files=tally.files(),
            summary=tally.summary(),
        )
        await _report(session, job_id, progress)


class _Tally:
    """Counts as the chunks are loaded, for progress and the final summary."""

    def __init__(self, read: ReadReturn) -> None:
        self.read = read
        self.positions = len(read.issues)
        self.outcomes: Counter[str] = Counter(rejected=len(read.rejected_children))
        self.changes: Counter[str] = Counter()
        self.codes: Counter[str] = Counter(i.code for i in read.issues)
        self.loaded: set[str] = set()

    def add(self, loaded: list[ChildLoaded]) -> list[ImportIssue]:
        issues = []
        for child in loaded:
            self.outcomes[child.outcome] += 1
            self.changes.update(child.changes)
            if child.outcome != "rejected":
                self.loaded.add(child.external_id)
            issues.extend(child.issues)
        self.codes.update(i.code for i in issues)
        return issues

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
                **f.counts(self.loaded),
                "unknown_columns": f.unknown_columns,
                "note": f.note,
            }
            for f in self.read.files
        ]

    def summary(self) -> dict[str, object]:
        rows = Counter[str]()
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
            "problems": {"total": self.positions, "by_code": dict(sorted(self.codes.items()))},
        }


async def _set(session: AsyncSession, job_id: uuid.UUID, **values: object) -> None:
    await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


async def _created_by(session: AsyncSession, job_id: uuid.UUID) -> str:
    job = await session.get(ImportJob, job_id)
    assert job is not None
    return job.created_by


async def _report(session: AsyncSession, job_id: uuid.UUID, progress: Progress | None) -> None:
    if progress is not None:
        job = await session.get(ImportJob, job_id, populate_existing=True)
        assert job is not None
        progress(job)


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
        }
        for n, issue in enumerate(issues)
    ]
    for start in range(0, len(rows), 1000):
        await session.execute(insert(ImportProblem), rows[start : start + 1000])


async def _fail(database: Database, job_id: uuid.UUID, reason: str) -> None:
    async with database.transaction() as session:
        await _set(session, job_id, status="failed", finished_at=datetime.now(UTC), failure=reason)
