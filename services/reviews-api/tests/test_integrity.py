"""Integrity (issue 10): a double submit never shifts the statutory schedule.

Each defect the issue lists has a test here that fails on the code before the fix; the races
themselves, on PostgreSQL through the gateway, are in tests/test_fault_races.py.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from iro_kit.db import Database
from iro_kit.idempotency import purge
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer
from reviews_api.app import SPEC, create_app
from reviews_api.models import IDEMPOTENCY_TABLE, Allocation, Review, ScheduleRulesState
from reviews_api.settings import Settings

from .conftest import IRO, MANAGER, Builder

V1 = "/reviews/v1"


def _held(make: Builder) -> tuple[str, dict[str, Any]]:
    child = make.looked_after("2017-01-03")
    return child["id"], {"held_on": "2017-01-20", "participation_code": "PN1"}


def test_a_second_review_held_on_the_same_day_is_a_409_naming_the_first(make: Builder) -> None:
    child_id, body = _held(make)
    first = make.client.post(f"{V1}/children/{child_id}/reviews", json=body, headers=IRO)
    assert first.status_code == 201, first.text
    second = make.client.post(f"{V1}/children/{child_id}/reviews", json=body, headers=IRO)
    assert second.status_code == 409, second.text
    problem = second.json()
    assert problem["type"].endswith("/already-recorded")
    assert problem["existing_review_id"] == first.json()["id"]
    reviews = make.client.get(f"{V1}/children/{child_id}/reviews", headers=IRO).json()
    assert len(reviews["items"] if isinstance(reviews, dict) else reviews) == 1
    # The example: the next review is the second, due three months on, not a
    # "subsequent" one six months on.
    upcoming = make.schedule(child_id, "2017-02-01")["next_review"]
    assert upcoming["sequence"] == "second"
    assert upcoming["due_by"]["date"] == "2017-04-21"


def test_moving_a_review_onto_another_reviews_day_is_a_409(make: Builder) -> None:
    child_id, _ = _held(make)
    first = make.review(child_id, "2017-01-20")
    second = make.review(child_id, "2017-03-01")
    moved = make.client.patch(
        f"{V1}/reviews/{second['id']}",
        json={"held_on": "2017-01-20"},
        headers={**IRO, "If-Match": f'"{second["version"]}"'} if "version" in second else IRO,
    )
    assert moved.status_code == 409, moved.text
    assert moved.json()["existing_review_id"] == first["id"]


def test_a_second_visit_of_a_kind_on_a_day_is_a_409_naming_the_first(make: Builder) -> None:
    child = make.looked_after("2017-01-03")
    body = {"kind": "pre_review", "visited_on": "2017-01-16"}
    first = make.client.post(f"{V1}/children/{child['id']}/visits", json=body, headers=IRO)
    assert first.status_code == 201, first.text
    second = make.client.post(f"{V1}/children/{child['id']}/visits", json=body, headers=IRO)
    assert second.status_code == 409, second.text
    assert second.json()["existing_visit_id"] == first.json()["id"]
    other_kind = {"kind": "midway", "visited_on": "2017-01-16"}
    assert (
        make.client.post(
            f"{V1}/children/{child['id']}/visits", json=other_kind, headers=IRO
        ).status_code
        == 201
    )


def test_the_same_idempotency_key_replays_the_first_response(make: Builder) -> None:
    child_id, body = _held(make)
    headers = {**IRO, "Idempotency-Key": "review-7f3c"}
    first = make.client.post(f"{V1}/children/{child_id}/reviews", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = make.client.post(f"{V1}/children/{child_id}/reviews", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers.get("Location") == first.headers.get("Location")
    assert again.headers.get("ETag") == first.headers.get("ETag")
    assert "Idempotent-Replayed" not in first.headers


def test_the_same_key_with_another_body_is_a_422(make: Builder) -> None:
    child_id, body = _held(make)
    headers = {**IRO, "Idempotency-Key": "review-9"}
    assert (
        make.client.post(
            f"{V1}/children/{child_id}/reviews", json=body, headers=headers
        ).status_code
        == 201
    )
    other = make.client.post(
        f"{V1}/children/{child_id}/reviews",
        json={**body, "held_on": "2017-01-21"},
        headers=headers,
    )
    assert other.status_code == 422
    problem = other.json()
    assert problem["type"].endswith("/idempotency-key-reused")
    assert problem["errors"][0]["pointer"] == "/Idempotency-Key"
    assert problem["errors"][0]["location"] == "header"


def test_an_error_response_is_not_kept_so_a_corrected_retry_runs(make: Builder) -> None:
    child_id, body = _held(make)
    headers = {**IRO, "Idempotency-Key": "review-fix"}
    bad = make.client.post(
        f"{V1}/children/{child_id}/reviews",
        json={**body, "participation_code": None},
        headers=headers,
    )
    assert bad.status_code == 422
    fixed = make.client.post(f"{V1}/children/{child_id}/reviews", json=body, headers=headers)
    assert fixed.status_code == 201, fixed.text
    assert "Idempotent-Replayed" not in fixed.headers


def test_a_key_is_the_callers_own(make: Builder) -> None:
    child_id, body = _held(make)
    key = {"Idempotency-Key": "shared-key"}
    assert (
        make.client.post(
            f"{V1}/children/{child_id}/reviews", json=body, headers={**IRO, **key}
        ).status_code
        == 201
    )
    other_iro = {**bearer("iro", subject="iro-2"), **key}
    other = make.client.post(f"{V1}/children/{child_id}/reviews", json=body, headers=other_iro)
    # Not the first caller's response replayed: their own request, a duplicate of the review.
    assert other.status_code == 409
    assert "Idempotent-Replayed" not in other.headers


def test_a_malformed_key_is_a_422_naming_the_header(make: Builder) -> None:
    child_id, body = _held(make)
    response = make.client.post(
        f"{V1}/children/{child_id}/reviews",
        json=body,
        headers={**IRO, "Idempotency-Key": "x" * 201},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["pointer"] == "/Idempotency-Key"


def test_every_post_documents_the_idempotency_key(api: TestClient) -> None:
    schema = api.get("/reviews/openapi.json").json()
    posts = [(path, item["post"]) for path, item in schema["paths"].items() if "post" in item]
    assert posts
    for path, operation in posts:
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert names.count("Idempotency-Key") == 1, path


def test_old_idempotency_responses_are_purged(api: TestClient, database_url: str) -> None:
    async def scenario() -> tuple[int, int]:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                for age_hours, key in ((1, "recent"), (49, "old")):
                    await session.execute(
                        insert(IDEMPOTENCY_TABLE).values(
                            key_hash=key,
                            request_hash="h",
                            status_code=201,
                            headers=[],
                            body=b"{}",
                            created_at=datetime.now(UTC) - timedelta(hours=age_hours),
                        )
                    )
            purged = await purge(database, IDEMPOTENCY_TABLE, Settings(database_url=database_url))
            async with database.transaction() as session:
                left = len(list(await session.scalars(select(IDEMPOTENCY_TABLE.c.key_hash))))
            return purged, left
        finally:
            await database.dispose()

    assert asyncio.run(scenario()) == (1, 1)


def test_the_database_refuses_a_second_held_review_or_open_allocation(
    make: Builder, database_url: str
) -> None:
    """Even a bug that skipped the service's checks cannot break the invariants."""
    child_id, _ = _held(make)
    make.review(child_id, "2017-01-20")
    iro = make.iro()
    allocated = make.client.post(
        f"{V1}/children/{child_id}/allocations",
        json={"iro_id": iro["id"], "start_on": "2017-01-03"},
        headers=MANAGER,
    )
    assert allocated.status_code == 201, allocated.text

    async def try_insert(row: Any) -> None:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                session.add(row)
        finally:
            await database.dispose()

    import uuid

    child = uuid.UUID(child_id)
    with pytest.raises(IntegrityError):
        asyncio.run(
            try_insert(
                Review(child_id=child, held_on=datetime(2017, 1, 20).date(), created_by="bug")
            )
        )
    with pytest.raises(IntegrityError):
        asyncio.run(
            try_insert(
                Allocation(
                    child_id=child,
                    iro_id=uuid.UUID(iro["id"]),
                    from_on=datetime(2017, 2, 1).date(),
                    created_by="bug",
                )
            )
        )


def _stored_against_schedule(client: TestClient, child_ids: list[str]) -> tuple[int, int]:
    """(reviews compared, reviews whose stored due_by/sequence/in_timescale disagree)."""
    compared = disagree = 0
    for child_id in child_ids:
        stored = client.get(f"{V1}/children/{child_id}/reviews", headers=IRO).json()
        stored_items = stored["items"] if isinstance(stored, dict) else stored
        schedule = client.get(
            f"{V1}/children/{child_id}/schedule", params={"as_at": "2019-12-31"}, headers=IRO
        ).json()
        computed = {r["review_id"]: r for r in schedule["reviews"]}
        for review in stored_items:
            if review.get("held_on") is None:
                continue
            compared += 1
            expected = computed[review["id"]]
            if (
                review["due_by"] != expected["due_by"]["date"]
                or review["sequence"] != expected["sequence"]
                or review["in_timescale"] != expected["in_timescale"]
            ):
                disagree += 1
    return compared, disagree


def test_changing_the_month_rule_and_restarting_leaves_no_stale_due_date(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade_to_head(SPEC.script_location, database_url)
    child_ids = []
    with TestClient(create_app(Settings(database_url=database_url, month_rule="days"))) as client:
        make = Builder(client)
        # Month ends and leap days are where the two rules part: start near them.
        for start in ("2016-01-29", "2016-08-31", "2017-05-31", "2017-11-30", "2018-01-31"):
            child = make.looked_after(start)
            child_ids.append(child["id"])
            held = datetime.fromisoformat(start).date() + timedelta(days=19)
            for _ in range(4):
                while held.weekday() >= 5:
                    held += timedelta(days=1)
                reviews = f"{V1}/children/{child['id']}/reviews"
                body = {"held_on": held.isoformat(), "participation_code": "PN1"}
                response = client.post(reviews, json=body, headers=IRO)
                if response.status_code == 422:  # late: give a reason
                    body["late_reason"] = "other"
                    body["late_reason_text"] = "test"
                    response = client.post(reviews, json=body, headers=IRO)
                assert response.status_code == 201, response.text
                held = datetime.fromisoformat(response.json()["due_by"]).date()
        compared, disagree = _stored_against_schedule(client, child_ids)
        assert (compared, disagree) == (20, 0)
    capsys.readouterr()
    with TestClient(
        create_app(Settings(database_url=database_url, month_rule="calendar"))
    ) as client:
        compared, disagree = _stored_against_schedule(client, child_ids)
        assert compared == 20
        assert disagree == 0
    changes = [
        json.loads(line)
        for line in capsys.readouterr().out.splitlines()
        if '"schedule_rules_changed"' in line
    ]
    assert len(changes) == 1
    assert changes[0]["previous"]["month_rule"] == "days"
    assert changes[0]["rules"]["month_rule"] == "calendar"
    assert changes[0]["reviews_changed"] > 0

    async def fingerprint() -> str:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                state = await session.get(ScheduleRulesState, 1)
                assert state is not None
                return state.rules["month_rule"]
        finally:
            await database.dispose()

    assert asyncio.run(fingerprint()) == "calendar"


def _parallel(client: TestClient, n: int, call: Any) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    barrier = Barrier(n)

    def run(_: int) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_parallel_double_submits_store_one_review(make: Builder) -> None:
    child_id, body = _held(make)
    path = f"{V1}/children/{child_id}/reviews"
    responses = _parallel(make.client, 8, lambda: make.client.post(path, json=body, headers=IRO))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7, [r.text for r in responses]
    stored = make.client.get(path, headers=IRO).json()
    assert len(stored["items"] if isinstance(stored, dict) else stored) == 1
    assert make.schedule(child_id, "2017-02-01")["next_review"]["sequence"] == "second"


def test_parallel_requests_with_one_key_get_one_response(make: Builder) -> None:
    child_id, body = _held(make)
    path = f"{V1}/children/{child_id}/reviews"
    headers = {**IRO, "Idempotency-Key": "parallel-1"}
    responses = _parallel(
        make.client, 8, lambda: make.client.post(path, json=body, headers=headers)
    )
    assert [r.status_code for r in responses] == [201] * 8, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 7


def test_a_keyed_post_while_the_database_is_locked_is_a_503(tmp_path: Any) -> None:
    """The key's lookup runs outside the service's handlers: still a 503, never a 500."""
    import sqlite3

    from sqlalchemy import event

    from .conftest import INTEGRATION

    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}"
    upgrade_to_head(SPEC.script_location, url)
    app = create_app(Settings(database_url=url))

    def wait_briefly(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=100")
        cursor.close()

    event.listen(app.state.database.engine.sync_engine, "connect", wait_briefly)
    body = {
        "external_id": "LCS-1",
        "given_name": "Sam",
        "family_name": "Taylor",
        "date_of_birth": "2010-01-01",
        "sex": "female",
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        writer = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        try:
            keyed = client.post(
                f"{V1}/children", json=body, headers={**INTEGRATION, "Idempotency-Key": "k1"}
            )
        finally:
            writer.execute("ROLLBACK")
            writer.close()
        assert keyed.status_code == 503, keyed.text
        assert keyed.headers["Retry-After"]
        retried = client.post(
            f"{V1}/children", json=body, headers={**INTEGRATION, "Idempotency-Key": "k1"}
        )
        assert retried.status_code == 201, retried.text


def test_a_903_upload_retried_with_its_key_is_one_job(api: TestClient) -> None:
    """Each send draws a new multipart boundary: the key still recognises the same upload."""
    from .imports import DATA, files_of, upload

    headers = {**bearer("business_support", subject="support-1"), "Idempotency-Key": "imp-1"}
    first = upload(api, files_of(DATA / "year1"), headers=headers)
    assert first.status_code == 202, first.text
    again = upload(api, files_of(DATA / "year1"), headers=headers)
    assert again.status_code == 202, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
