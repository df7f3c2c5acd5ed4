"""Fault test 3: reviews-api killed with SIGKILL mid-import and mid-request, then restarted.

reviews-api and drp-api (the events' subscriber) run as real processes on loopback, on
PostgreSQL when IRO_TEST_POSTGRES_URL is set (CI), else on SQLite files. A synthetic SSDA903
return (bench/import_903_bench.py's generator) is uploaded; the service is killed once a chunk
has committed and before the last, restarted, killed again in the middle of a burst of writes,
and restarted again. Afterwards:

- the job was resumed by the restarted service and finished, with the summary of an
  uninterrupted import (never left `running`);
- no corrupted record: after each kill every child of the return is either absent or there with
  all its episodes and reviews; at the end all are; every stored due date, sequence and flag
  agrees with a recompute by the schedule;
- no lost event: every child and IRO in the database (the writes that got a 2xx and any that
  committed without answering) has its outbox row, and after the restart every row is
  delivered to drp-api's inbox, none dead.

The figures (requests, statuses, durations, resident memory) are printed and written to
`$IRO_FAULT_FIGURES_DIR/fault_import_kill.json` (the test's temporary folder by default).
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import json
import os
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from iro_kit.testing import bearer, postgres_admin_url
from iro_local.topology import RELAY_TUNING, Route, create_databases, drop_databases
from iro_local.topology import Topology as Processes

from .conftest import ROOT, show_figures

CHILDREN = 3000  # six chunks of 500
DEADLINE_SECONDS = 110
SUPPORT = bearer("business_support", subject="support-1")
MANAGER = bearer("iro_manager", subject="manager-1")
INTEGRATION = bearer("integration", subject="lcs")


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "import_903_bench", ROOT / "bench/import_903_bench.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _expected(folder: Path) -> dict[str, tuple[int, int]]:
    """Per child of the return: (episodes, reviews)."""
    counts: dict[str, list[int]] = {}
    for name, slot in (("episodes", 0), ("reviews", 1)):
        with (folder / f"{name}.csv").open(newline="") as handle:
            for row in csv.DictReader(handle):
                counts.setdefault(row["CHILD"], [0, 0])[slot] += 1
    with (folder / "header.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            counts.setdefault(row["CHILD"], [0, 0])
    return {child: (e, r) for child, (e, r) in counts.items()}


def _rss_mb(pid: int) -> dict[str, float]:
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            figures[key] = round(int(value.split()[0]) / 1024, 1)
    return figures


class Topology(Processes):
    """reviews-api (short import leases) and drp-api, reviews-api's relay in its process."""

    def __init__(self, workdir: Path, reviews_url: str, drp_url: str) -> None:
        super().__init__(
            workdir,
            {"reviews_api": reviews_url, "drp_api": drp_url},
            routes=[Route("reviews_api", "drp_api", ("child.changed", "iro.changed"))],
            relay_env=RELAY_TUNING,
            extra_env={
                "REVIEWS_IMPORT_LEASE_SECONDS": "3",
                "REVIEWS_IMPORT_HEARTBEAT_SECONDS": "0.5",
            },
        )
        self.reviews_url, self.drp_url = reviews_url, drp_url

    @property
    def api(self) -> str:
        return self.url("reviews_api")

    @property
    def reviews(self) -> subprocess.Popen[bytes] | None:
        running = self.services.get("reviews_api")
        return running.process if running else None

    def start_drp(self) -> None:
        self.serve("drp_api")

    def start_reviews(self) -> float:
        started = time.monotonic()
        self.serve("reviews_api")
        return time.monotonic() - started

    def kill_reviews(self) -> None:
        assert self.reviews is not None
        self.kill(self.reviews)


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    admin_url = postgres_admin_url()
    urls = create_databases(["reviews_api", "drp_api"], admin_url, tmp_path)
    made = Topology(tmp_path, urls["reviews_api"], urls["drp_api"])
    try:
        yield made
    finally:
        made.stop_all(timeout=20)
        drop_databases(admin_url, urls.values())


async def _integrity(url: str, expected: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """What the database holds: per child of the return, whole or absent; events per record;
    stored chains against a recompute."""
    from iro_kit.calendar import WorkingDayCalendar
    from iro_kit.db import Database
    from reviews_api.casefile import load_casefiles
    from reviews_api.models import Child, Episode, Iro, Review
    from reviews_api.reviews.chain import assess_chain
    from reviews_api.settings import Settings

    settings = Settings(database_url=url)
    rules = settings.schedule_rules(WorkingDayCalendar(settings.extra_closure_days))
    database = Database(url)
    try:
        async with database.sessions() as session:
            children = dict((await session.execute(select(Child.external_id, Child.id))).all())
            episodes = Counter(
                dict(
                    (
                        await session.execute(
                            select(Episode.child_id, func.count())
                            .where(Episode.deleted_at.is_(None))
                            .group_by(Episode.child_id)
                        )
                    ).all()
                )
            )
            reviews = Counter(
                dict(
                    (
                        await session.execute(
                            select(Review.child_id, func.count())
                            .where(Review.deleted_at.is_(None))
                            .group_by(Review.child_id)
                        )
                    ).all()
                )
            )
            partial = [
                external_id
                for external_id, child_id in children.items()
                if external_id in expected
                and (episodes[child_id], reviews[child_id]) != expected[external_id]
            ]
            iros = set(await session.scalars(select(Iro.id)))
            published = {
                (kind, uuid.UUID(subject))
                for kind, subject in (
                    await session.execute(text("SELECT DISTINCT type, subject FROM outbox"))
                ).all()
            }
            stale = 0
            ids = list(children.values())
            for start in range(0, len(ids), 1000):
                for casefile in (await load_casefiles(session, ids[start : start + 1000])).values():
                    before = [_stored(r) for r in casefile.reviews]
                    assess_chain(casefile, rules)
                    stale += sum(
                        b != _stored(r) for b, r in zip(before, casefile.reviews, strict=True)
                    )
                session.expunge_all()
            await session.rollback()  # the recompute is only compared, never stored
            attempts = list(await session.scalars(text("SELECT attempts FROM import_job")))
            outbox = dict(
                (
                    await session.execute(
                        text(
                            "SELECT 'rows', count(*) FROM outbox UNION ALL SELECT "
                            "'undelivered', count(*) FROM outbox WHERE delivered_at IS NULL UNION "
                            "ALL SELECT 'dead', count(*) FROM outbox WHERE dead_at IS NOT NULL"
                        )
                    )
                ).all()
            )
    finally:
        await database.dispose()
    return {
        "children": len(children),
        "children_of_return": sum(1 for e in children if e in expected),
        "partial_children": partial,
        "children_without_event": sum(
            1 for c in children.values() if ("child.changed", c) not in published
        ),
        "iros": len(iros),
        "iros_without_event": sum(1 for i in iros if ("iro.changed", i) not in published),
        "stale_reviews": stale,
        "outbox": outbox,
        "import_attempts": attempts,
    }


def _stored(review: Any) -> tuple[Any, ...]:
    return (review.period_started_on, review.sequence, review.due_by, review.in_timescale)


def _inbox(url: str) -> int:
    from iro_kit.db import Database

    async def count() -> int:
        database = Database(url)
        try:
            async with database.sessions() as session:
                return int(await session.scalar(text("SELECT count(*) FROM inbox")) or 0)
        finally:
            await database.dispose()

    return asyncio.run(count())


@dataclass
class Burst:
    """Writes as fast as a few clients can send them, until told to stop."""

    api: str
    statuses: Counter[str] = field(default_factory=Counter)
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (kind, id) of 2xx
    stop: threading.Event = field(default_factory=threading.Event)

    def client(self, worker: int) -> None:
        with httpx.Client(base_url=self.api, timeout=10) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                tag = f"{worker}-{n}-{uuid.uuid4().hex[:6]}"
                if n % 2:
                    kind, path, headers = "iro", "/reviews/v1/iros", MANAGER
                    body: dict[str, Any] = {
                        "name": f"IRO {tag}",
                        "email": f"iro-{tag}@fault.example",
                        "fte": 1.0,
                        "start_on": "2020-01-01",
                    }
                else:
                    kind, path, headers = "child", "/reviews/v1/children", INTEGRATION
                    body = {
                        "external_id": f"FAULT-{tag}",
                        "given_name": "Sam",
                        "family_name": "Fault",
                        "date_of_birth": "2012-03-04",
                        "sex": "female",
                    }
                try:
                    response = http.post(path, json=body, headers=headers)
                except httpx.TransportError as exc:
                    self.statuses[type(exc).__name__] += 1
                    if self.stop.wait(0.05):
                        return
                    continue
                self.statuses[str(response.status_code)] += 1
                if response.status_code < 300:
                    self.acknowledged.append((kind, response.json()["id"]))


POLLS: Counter[int] = Counter()


def _progress(topology: Topology, location: str) -> tuple[str, int]:
    """The job's status and children loaded. On SQLite read straight from the file: a request
    waits behind the import's write lock (every transaction there is BEGIN IMMEDIATE), so by
    the time it answers the import may be over; a plain reader in WAL mode never waits."""
    if not topology.reviews_url.startswith("sqlite"):
        job = _job(topology.api, location)
        return job["status"], job["progress"]["children_loaded"]
    with sqlite3.connect(topology.reviews_url.split("///", 1)[1]) as connection:
        row = connection.execute("SELECT status, children_loaded FROM import_job").fetchone()
    return (row[0], row[1]) if row else ("queued", 0)


def _job(api: str, location: str) -> dict[str, Any]:
    """The job; a 503 (SQLite busy behind a chunk's write lock) is asked again."""
    while True:
        response = httpx.get(f"{api}{location}", headers=SUPPORT, timeout=10)
        POLLS[response.status_code] += 1
        if response.status_code != 503:
            assert response.status_code == 200, response.text
            return dict(response.json())
        time.sleep(0.2)


def test_reviews_api_killed_mid_import_and_mid_request_loses_and_corrupts_nothing(
    topology: Topology, record_property: Any
) -> None:
    began = time.monotonic()
    figures: dict[str, Any] = {
        "database": "postgresql" if postgres_admin_url() else "sqlite",
        "children_in_return": CHILDREN,
    }
    folder = topology.workdir / "return"
    folder.mkdir()
    figures["rows"] = _generator().write_return(folder, CHILDREN)
    expected = _expected(folder)
    topology.migrate()
    topology.start_drp()
    figures["start_seconds"] = [round(topology.start_reviews(), 2)]

    # 1. Killed mid-import: once a chunk has committed, before the last.
    files = [("files", (p.name, p.read_bytes(), "text/csv")) for p in sorted(folder.glob("*.csv"))]
    uploaded = httpx.post(
        f"{topology.api}/reviews/v1/imports/ssda903",
        files=files,
        data={"collection_year": "2025"},
        headers=SUPPORT,
        timeout=60,
    )
    assert uploaded.status_code == 202, uploaded.text
    location = uploaded.headers["Location"]
    import_started = time.monotonic()
    while True:
        status, loaded = _progress(topology, location)
        assert status in {"queued", "running"}, (status, loaded)
        if loaded >= 500:
            break
        assert time.monotonic() - import_started < 60, (status, loaded)
        time.sleep(0.02)
    assert topology.reviews is not None
    figures["rss_mb_at_import_kill"] = _rss_mb(topology.reviews.pid)
    topology.kill_reviews()
    figures["killed_after_children_loaded"] = loaded
    after_kill = asyncio.run(_integrity(topology.reviews_url, expected))
    assert after_kill["partial_children"] == []
    assert 500 <= after_kill["children_of_return"] < CHILDREN, after_kill
    figures["children_committed_at_kill"] = after_kill["children_of_return"]

    # 2. Restarted (the job resumes once its lease expires), then killed mid-request.
    figures["start_seconds"].append(round(topology.start_reviews(), 2))
    burst = Burst(topology.api)
    with ThreadPoolExecutor(6) as pool:
        for worker in range(6):
            pool.submit(burst.client, worker)
        # Killed mid-request: once writes are being acknowledged (the resumed import shares the
        # database, so on a loaded machine the first may take seconds), then 2 s on.
        deadline = time.monotonic() + 30
        while not burst.acknowledged and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)
        figures["rss_mb_at_request_kill"] = _rss_mb(topology.reviews.pid)
        topology.kill_reviews()
        time.sleep(0.3)
        burst.stop.set()
    figures["burst"] = {
        "requests": sum(burst.statuses.values()),
        "by_status": dict(burst.statuses),
        "acknowledged": len(burst.acknowledged),
    }
    assert burst.acknowledged, burst.statuses
    assert not [s for s in burst.statuses if s.startswith("5")], burst.statuses
    after_second = asyncio.run(_integrity(topology.reviews_url, expected))
    assert after_second["partial_children"] == []
    assert after_second["children_without_event"] == 0
    assert after_second["iros_without_event"] == 0

    # 3. Restarted: the job is taken over and finished; every event is delivered.
    figures["start_seconds"].append(round(topology.start_reviews(), 2))
    resumed = time.monotonic()
    while (job := _job(topology.api, location))["status"] in {"queued", "running"}:
        assert time.monotonic() - resumed < 60, job
        time.sleep(0.2)
    figures["resume_seconds"] = round(time.monotonic() - resumed, 2)
    figures["job"] = {k: job[k] for k in ("status", "failure", "progress")}
    assert job["status"] == "finished", job
    assert job["summary"]["children"] == {
        "created": CHILDREN,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    for kind, record_id in burst.acknowledged:  # every 2xx is there
        path = "iros" if kind == "iro" else "children"
        found = httpx.get(f"{topology.api}/reviews/v1/{path}/{record_id}", headers=MANAGER)
        assert found.status_code == 200, (kind, record_id, found.text)
    drained = time.monotonic()
    while True:
        final = asyncio.run(_integrity(topology.reviews_url, expected))
        if final["outbox"]["undelivered"] == 0:
            break
        assert time.monotonic() - drained < 60, final["outbox"]
        time.sleep(0.5)
    figures["drain_seconds"] = round(time.monotonic() - drained, 2)
    figures["rss_mb_at_end"] = _rss_mb(topology.reviews.pid)
    figures["final"] = {k: v for k, v in final.items() if k != "partial_children"}
    figures["inbox"] = _inbox(topology.drp_url)
    figures["job_polls_by_status"] = dict(POLLS)
    figures["duration_seconds"] = round(time.monotonic() - began, 1)
    _record(figures, topology.workdir, record_property)

    assert final["partial_children"] == []
    assert final["children_of_return"] == CHILDREN
    assert final["stale_reviews"] == 0
    assert final["children_without_event"] == 0 and final["iros_without_event"] == 0
    assert final["outbox"]["dead"] == 0
    # One row per event for the one subscriber: each was applied once by the inbox.
    assert figures["inbox"] == final["outbox"]["rows"]
    assert figures["duration_seconds"] < DEADLINE_SECONDS


def _record(figures: dict[str, Any], workdir: Path, record_property: Any) -> None:
    folder = Path(os.environ.get("IRO_FAULT_FIGURES_DIR") or workdir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fault_import_kill.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    for key, value in figures.items():
        record_property(key, json.dumps(value))
    show_figures("fault_import_kill", json.dumps(figures), path)
