"""Every change to a dispute publishes its whole state as `dispute.changed`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from drp_api.app import SPEC, create_app
from drp_api.events import CATALOGUE, SCHEMA_DIR
from drp_api.models import EVENT_TABLES
from drp_api.settings import Settings
from iro_kit.events.routing import EventRoute
from iro_kit.events.schemas import differences, validate
from iro_kit.migrations import upgrade_to_head

from .conftest import ALEX, CHILD, MANAGER, V1, announce, raise_body


@pytest.fixture
def publishing(database_url: str) -> Iterator[TestClient]:
    upgrade_to_head(SPEC.script_location, database_url)
    route = EventRoute(subscriber="scorecard-api", url="http://127.0.0.1:9/x", types=["*"])
    settings = Settings(
        database_url=database_url,
        event_routes=[route],
        relay_in_process=False,
    )
    with TestClient(create_app(settings)) as client:
        announce(client, children=[CHILD], iros=[ALEX])
        yield client


def _outbox(client: TestClient) -> list[dict]:
    async def read() -> list[dict]:
        database = client.app.state.database
        async with database.sessions() as session:
            rows = await session.execute(select(EVENT_TABLES.outbox.c.envelope))
            return [row.envelope for row in rows]

    # On the client's own event loop, where the app's database engine lives.
    assert client.portal is not None
    return client.portal.call(read)


def test_the_committed_schemas_match_the_code() -> None:
    assert differences(CATALOGUE, SCHEMA_DIR) == []


def test_raising_and_escalating_publish_the_whole_dispute(publishing: TestClient) -> None:
    raised = publishing.post(f"{V1}/disputes", json=raise_body(), headers=MANAGER)
    assert raised.status_code == 201, raised.text
    dispute = raised.json()
    escalated = publishing.post(
        f"{V1}/disputes/{dispute['id']}/escalate",
        json={"escalated_on": "2017-04-20"},
        headers={**MANAGER, "If-Match": raised.headers["etag"]},
    )
    assert escalated.status_code == 200, escalated.text
    events = _outbox(publishing)
    assert [e["type"] for e in events] == ["dispute.changed", "dispute.changed"]
    first, second = (e["data"] for e in events)
    assert second["version"] > first["version"]
    assert (first["stage"], second["stage"]) == (1, 2)
    assert [a["action"] for a in second["history"]] == ["raise", "escalate"]
    assert events[1]["subject"] == dispute["id"]
    for event in events:
        validate("dispute.changed", CATALOGUE["dispute.changed"], SCHEMA_DIR, event["data"])


def test_a_refused_transition_publishes_nothing(publishing: TestClient) -> None:
    raised = publishing.post(f"{V1}/disputes", json=raise_body(), headers=MANAGER)
    stale = publishing.post(
        f"{V1}/disputes/{raised.json()['id']}/escalate",
        json={"escalated_on": "2017-04-20"},
        headers={**MANAGER, "If-Match": '"99"'},
    )
    assert stale.status_code == 412
    assert len(_outbox(publishing)) == 1
