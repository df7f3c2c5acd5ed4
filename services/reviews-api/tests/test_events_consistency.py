"""Published states are complete and current, whatever else commits at the same time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from iro_kit.events.routing import EventRoute
from iro_kit.migrations import upgrade_to_head
from reviews_api.app import SPEC, create_app
from reviews_api.models import Child, Episode, Iro
from reviews_api.settings import Settings

from .test_events_published import published


def _app(url: str) -> Any:
    upgrade_to_head(SPEC.script_location, url)
    route = EventRoute(subscriber="everything", url="http://127.0.0.1:9/events", types=["*"])
    return create_app(Settings(database_url=url, event_routes=[route], relay_in_process=False))


@pytest.fixture
def on_any_database(database_url: str) -> Iterator[TestClient]:
    with TestClient(_app(database_url)) as client:
        yield client


@pytest.fixture
def on_postgres(postgres_url: str) -> Iterator[TestClient]:
    with TestClient(_app(postgres_url)) as client:
        yield client


def _child(family_name: str = "Old") -> Child:
    return Child(
        external_id=f"LCS-{family_name}",
        given_name="Sam",
        family_name=family_name,
        date_of_birth=date(2010, 6, 15),
        sex="female",
    )


def test_a_savepoint_rolled_back_after_an_inner_one_was_released_loses_no_event(
    on_any_database: TestClient,
) -> None:
    database = on_any_database.app.state.database

    async def scenario() -> None:
        async with database.transaction() as session:
            session.add(_child())
            await session.flush()
            try:
                async with session.begin_nested():
                    async with session.begin_nested():
                        session.add(
                            Iro(
                                name="Gone",
                                email="g@x.example",
                                fte=1,
                                in_post_from=date(2020, 1, 1),
                            )
                        )
                    raise RuntimeError("the outer savepoint fails")
            except RuntimeError:
                pass

    assert on_any_database.portal is not None
    on_any_database.portal.call(scenario)
    # The child committed with the transaction; the IRO went with the outer savepoint.
    assert [e["type"] for e in published(on_any_database)] == ["child.changed"]


def test_a_stale_copy_in_the_session_never_becomes_the_newest_state(
    on_postgres: TestClient,
) -> None:
    database = on_postgres.app.state.database

    async def scenario() -> None:
        async with database.transaction() as session:
            session.add(_child())
        async with database.transaction() as late:
            child = await late.scalar(select(Child))  # holds "Old" in memory
            assert child is not None
            async with database.transaction() as early:
                renamed = await early.scalar(select(Child))
                assert renamed is not None
                renamed.family_name = "New"
            late.add(
                Episode(
                    child_id=child.id,
                    start_on=date(2020, 1, 6),
                    reason_new_episode="S",
                    legal_status="C2",
                )
            )

    assert on_postgres.portal is not None
    on_postgres.portal.call(scenario)
    children = [e["data"] for e in published(on_postgres) if e["type"] == "child.changed"]
    newest = max(children, key=lambda data: data["version"])
    assert newest["family_name"] == "New"
    assert [p["start_on"] for p in newest["periods_of_care"]] == ["2020-01-06"]
