"""New children of an SSDA903 import are written in bulk (a COPY on PostgreSQL, a Core
executemany on SQLite), not as ORM objects: the stored records, the job's account and the
events published are exactly those of the ORM path, which still loads children already held.

Each test imports the same returns twice, into two fresh databases: once as it runs, once with
every child sent down the ORM path (`loader._bulk_ok` refusing all), and compares everything
but the random ids and the clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from iro_kit.events.routing import EventRoute
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import empty_database
from reviews_api.app import SPEC, create_app
from reviews_api.imports import loader
from reviews_api.models import EVENT_TABLES, AnnualOutcome, Child, Episode, ImportProblem, Review
from reviews_api.settings import Settings

from . import dfe_903_return as generated
from .imports import DATA, errors_of, run_import

TABLES = {"child": Child, "episode": Episode, "review": Review, "annual_outcome": AnnualOutcome}
CLOCK = ("created_at", "updated_at")


@pytest.fixture
def second_database_url(tmp_path: Path) -> Iterator[str]:
    """Another empty database of the same kind as `database_url`."""
    with empty_database(tmp_path, "second.db") as url:
        yield url


def _app(url: str) -> TestClient:
    upgrade_to_head(SPEC.script_location, url)
    route = EventRoute(subscriber="everything", url="http://127.0.0.1:9/events", types=["*"])
    settings = Settings(database_url=url, event_routes=[route], relay_in_process=False)
    return TestClient(create_app(settings))


def _stored(client: TestClient) -> dict[str, Any]:
    """Every record of the loaded tables and every outbox row, ids replaced by what they name
    (a child by its SSDA903 id, an episode by its external id, a review by child and date)."""

    async def read() -> dict[str, Any]:
        async with client.app.state.database.sessions() as session:
            tables = {
                name: [dict(row._mapping) for row in await session.execute(select(model.__table__))]
                for name, model in TABLES.items()
            }
            outbox = [
                dict(row._mapping) for row in await session.execute(select(EVENT_TABLES.outbox))
            ]
            problems = [
                {k: v for k, v in dict(row._mapping).items() if k != "job_id"}
                for row in await session.execute(select(ImportProblem.__table__))
            ]
        return {"tables": tables, "outbox": outbox, "problems": problems}

    assert client.portal is not None
    found = client.portal.call(read)
    names: dict[str, str] = {}
    children = {row["id"]: row["external_id"] for row in found["tables"]["child"]}
    for child_id, external_id in children.items():
        names[str(child_id)] = f"child {external_id}"
    for row in found["tables"]["episode"]:
        names[str(row["id"])] = f"episode {row['external_id']}"
    for row in found["tables"]["review"]:
        names[str(row["id"])] = f"review {children[row['child_id']]} {row['held_on']}"
    for row in found["tables"]["annual_outcome"]:
        names[str(row["id"])] = f"outcome {children[row['child_id']]} {row['year_ending']}"
    started = datetime(2000, 1, 1, tzinfo=UTC)
    tables = {}
    for name, rows in found["tables"].items():
        for row in rows:
            for column in CLOCK:  # set, in Python, as the rows were written
                stamp = row.pop(column)
                assert stamp is not None and stamp.replace(tzinfo=UTC) > started, (name, row)
        tables[name] = sorted((_named(row, names) for row in rows), key=repr)
    events = []
    for row in found["outbox"]:
        envelope = dict(row["envelope"])
        assert envelope.pop("id") == str(row["event_id"])
        envelope.pop("time")
        if "requestid" in envelope:  # the upload's request, different in each run
            envelope["requestid"] = "the upload"
        data = dict(envelope.pop("data"))
        assert isinstance(data.pop("version"), int)  # taken from the counter at commit
        events.append(
            _named(
                {
                    "subscriber": row["subscriber"],
                    "url": row["url"],
                    "type": row["type"],
                    "subject": row["subject"],
                    "attempts": row["attempts"],
                    "envelope": envelope,
                    "data": data,
                },
                names,
            )
        )
    return {
        "tables": tables,
        "events": sorted(events, key=repr),
        "problems": sorted(found["problems"], key=repr),
    }


def _named(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _named(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_named(v, names) for v in value]
    if isinstance(value, uuid.UUID | str) and str(value) in names:
        return names[str(value)]
    if isinstance(value, uuid.UUID):
        raise AssertionError(f"an id that names no loaded record: {value}")
    return value


def _job(job: dict[str, Any]) -> dict[str, Any]:
    return {k: job[k] for k in ("status", "summary", "progress", "files", "year_ending")}


def _import_all(
    url: str, returns: list[tuple[Path, dict[str, str]]]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with _app(url) as client:
        jobs = []
        for folder, form in returns:
            job = run_import(client, folder, **form)
            jobs.append({**_job(job), "errors": errors_of(client, job)})
        return jobs, _stored(client)


def _orm_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_bulk_ok", lambda plan: False)


def _compare(
    database_url: str,
    second_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    returns: list[tuple[Path, dict[str, str]]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    bulk_jobs, bulk = _import_all(database_url, returns)
    with monkeypatch.context() as patched:
        _orm_only(patched)
        orm_jobs, orm = _import_all(second_database_url, returns)
    for job in (*bulk_jobs, *orm_jobs):
        for error in job["errors"]:
            error.pop("job_id", None)
    assert bulk_jobs == orm_jobs
    assert bulk["tables"] == orm["tables"]
    assert bulk["problems"] == orm["problems"]
    assert bulk["events"] == orm["events"]
    return bulk_jobs, bulk


def test_a_hand_made_return_and_its_next_year_load_as_through_the_orm(
    database_url: str, second_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # year2 updates a child of year1 (the ORM path) and adds one (bulk) in the same chunk.
    jobs, stored = _compare(
        database_url,
        second_database_url,
        monkeypatch,
        [(DATA / "year1", {}), (DATA / "year2", {})],
    )
    assert jobs[0]["summary"]["children"]["created"] == 2
    assert jobs[1]["summary"]["children"]["created"] >= 1
    assert jobs[1]["summary"]["children"]["updated"] >= 1
    assert {row["external_id"] for row in stored["tables"]["child"]} >= {"A1", "B2"}
    types = {event["type"] for event in stored["events"]}
    assert types == {"child.changed", "review.changed"}
    reviews = stored["tables"]["review"]
    assert reviews and all(r["due_by"] is not None for r in reviews if r["sequence"])


def test_a_generated_return_of_hundreds_of_children_loads_as_through_the_orm(
    database_url: str,
    second_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "generated"
    folder.mkdir()
    generated.write_return(folder)
    # Loaded twice: the second import finds every child held (nothing bulk-loaded, nothing new).
    form = {"collection_year": str(generated.YEAR)}
    jobs, stored = _compare(
        database_url, second_database_url, monkeypatch, [(folder, form), (folder, form)]
    )
    created = jobs[0]["summary"]["children"]["created"]
    assert created > 200
    assert jobs[1]["summary"]["children"]["created"] == 0
    assert jobs[1]["summary"]["children"]["unchanged"] == created
    assert len(stored["tables"]["child"]) == created
    children = [e for e in stored["events"] if e["type"] == "child.changed"]
    reviews = [e for e in stored["events"] if e["type"] == "review.changed"]
    assert len(children) == created  # one each, at the commit of the chunk that created it
    assert len(reviews) == len(stored["tables"]["review"])


def test_a_bulk_loaded_child_refused_by_the_database_is_retried_alone(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk the database refuses is written again a child at a time; the bulk path raises
    the same IntegrityError as a flush, so only the conflicting child is reported."""
    real = loader._insert_new
    calls: list[int] = []

    async def once_refused(session: Any, new: Any, settings: Any) -> None:
        calls.append(len(new))
        if len(calls) == 1:  # the whole chunk: a concurrent import created B2 meanwhile
            clash = next(plan for plan, _ in new if plan.external_id == "B2")
            now = datetime.now(UTC)
            await loader._write_rows(
                session,
                loader._CHILD,
                (*loader._CHILD_COLUMNS, *loader._STAMPS),
                [(uuid.uuid4(), clash.external_id, clash.date_of_birth, clash.sex, 1, now, now)],
            )
        await real(session, new, settings)

    monkeypatch.setattr(loader, "_insert_new", once_refused)
    with _app(database_url) as client:
        job = run_import(client, DATA / "year1")
        stored = _stored(client)
    assert calls[0] == 2 and calls[1:] == [1, 1]  # the chunk, then each child alone
    assert job["summary"]["children"]["created"] == 2
    assert sorted(row["external_id"] for row in stored["tables"]["child"]) == ["A1", "B2"]
