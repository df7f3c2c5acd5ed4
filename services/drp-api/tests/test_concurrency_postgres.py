"""Concurrent changes on PostgreSQL: twenty managers escalate the same version at once.

The app runs in-process on a real PostgreSQL database; httpx sends the requests concurrently
through ASGI, so they interleave on the event loop and race on the database exactly as
requests to one uvicorn worker do. Skipped without PostgreSQL (set IRO_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from drp_api.app import SPEC, create_app
from drp_api.settings import Settings
from iro_kit.migrations import upgrade_to_head

from .conftest import ALEX, CHILD, MANAGER, REVIEWS_RELAY, V1, people_events, raise_body

ATTEMPTS = 20


@asynccontextmanager
async def _client(postgres_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=postgres_url))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://drp") as client:
            events = people_events(children=[CHILD], iros=[ALEX])
            announced = await client.post("/drp/events", json=events, headers=REVIEWS_RELAY)
            assert announced.status_code == 200, announced.text
            yield client
    finally:
        await app.state.database.dispose()


async def _race_escalations(postgres_url: str) -> tuple[Counter[int], list[dict]]:
    async with _client(postgres_url) as client:
        raised = await client.post(f"{V1}/disputes", json=raise_body(), headers=MANAGER)
        assert raised.status_code == 201, raised.text
        dispute_id, etag = raised.json()["id"], raised.headers["ETag"]

        async def escalate() -> httpx.Response:
            return await client.post(
                f"{V1}/disputes/{dispute_id}/escalate",
                json={"escalated_on": "2017-04-18"},
                headers={**MANAGER, "If-Match": etag},
            )

        responses = await asyncio.gather(*(escalate() for _ in range(ATTEMPTS)))
        history = await client.get(f"{V1}/disputes/{dispute_id}/history", headers=MANAGER)
        return Counter(r.status_code for r in responses), history.json()


def test_twenty_concurrent_escalations_of_one_version_only_one_wins(postgres_url: str) -> None:
    upgrade_to_head(SPEC.script_location, postgres_url)
    statuses, history = asyncio.run(_race_escalations(postgres_url))

    assert statuses == {200: 1, 412: ATTEMPTS - 1}
    assert [entry["action"] for entry in history] == ["raise", "escalate"]
    assert [entry["version"] for entry in history] == [1, 2]
    assert history[-1]["stage"] == 2


async def _race_raises(postgres_url: str) -> list[str]:
    async with _client(postgres_url) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"{V1}/disputes", json=raise_body(), headers=MANAGER)
                for _ in range(ATTEMPTS)
            )
        )
        assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
        return [r.json()["reference"] for r in responses]


def test_concurrent_raises_get_distinct_references(postgres_url: str) -> None:
    upgrade_to_head(SPEC.script_location, postgres_url)
    references = asyncio.run(_race_raises(postgres_url))
    assert sorted(references) == [f"DRP-2017-{n:04d}" for n in range(1, ATTEMPTS + 1)]
