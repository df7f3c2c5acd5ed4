"""A late review stored without a reason is "not recorded" in the scorecard's Table 3 (issue 12).

reviews-api now stores a late review with no late reason (it was a 422); the scorecard's
late-reasons table (KPIS.md, Table 3) must count it as `not_recorded`, and count the reason
once one is recorded. The events are the ones reviews-api really publishes: read from its
outbox and delivered to scorecard-api's inbox, as the relay would. Both on SQLite, in process.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from iro_kit.events.routing import EventRoute
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer
from reviews_api.app import SPEC as REVIEWS
from reviews_api.app import create_app as create_reviews
from reviews_api.models import EVENT_TABLES
from reviews_api.settings import Settings as ReviewsSettings
from scorecard_api.app import SPEC as SCORECARD
from scorecard_api.app import create_app as create_scorecard
from scorecard_api.settings import Settings as ScorecardSettings

INTEGRATION = bearer("integration", subject="lcs")
IRO = bearer("iro", subject="iro-1")
PERFORMANCE = bearer("performance")
REVIEWS_RELAY = bearer("integration", subject="reviews-api")
TABLE = {"from": "2017-04-01", "as_at": "2017-06-30"}


class Pair:
    def __init__(self, reviews: TestClient, scorecard: TestClient) -> None:
        self.reviews, self.scorecard = reviews, scorecard
        self.forwarded: set[str] = set()

    def _outbox(self) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            async with self.reviews.app.state.database.sessions() as session:  # type: ignore[attr-defined]
                outbox = EVENT_TABLES.outbox
                rows = await session.execute(select(outbox.c.envelope))
                return sorted((row.envelope for row in rows), key=lambda e: e["time"])

        assert self.reviews.portal is not None  # on the loop where the app's engine lives
        return self.reviews.portal.call(read)

    def forward(self) -> None:
        """Delivers what reviews-api published since the last call to scorecard-api's inbox."""
        events = [e for e in self._outbox() if e["id"] not in self.forwarded]
        assert events, "reviews-api published nothing"
        response = self.scorecard.post("/scorecard/events", json=events, headers=REVIEWS_RELAY)
        assert response.status_code == 200, response.text
        assert {r["status"] for r in response.json()["results"]} == {"applied"}, response.text
        self.forwarded |= {e["id"] for e in events}

    def late_reasons(self) -> dict[str, int]:
        response = self.scorecard.get(
            "/scorecard/v1/tables/late-reviews", params=TABLE, headers=PERFORMANCE
        )
        assert response.status_code == 200, response.text
        return {row["reason"]: row["total"] for row in response.json()["reasons"]}


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    reviews_url = f"sqlite+aiosqlite:///{tmp_path / 'reviews.db'}"
    scorecard_url = f"sqlite+aiosqlite:///{tmp_path / 'scorecard.db'}"
    upgrade_to_head(REVIEWS.script_location, reviews_url)
    upgrade_to_head(SCORECARD.script_location, scorecard_url)
    route = EventRoute(subscriber="scorecard-api", url="http://127.0.0.1:9/x", types=["*"])
    reviews_settings = ReviewsSettings(
        database_url=reviews_url, event_routes=[route], relay_in_process=False
    )
    with (
        TestClient(create_reviews(reviews_settings)) as reviews,
        TestClient(create_scorecard(ScorecardSettings(database_url=scorecard_url))) as scorecard,
    ):
        yield Pair(reviews, scorecard)


def _post(client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_late_review_stored_without_a_reason_is_not_recorded_until_one_is(pair: Pair) -> None:
    child = _post(
        pair.reviews,
        "/reviews/v1/children",
        {
            "external_id": "LCS-LATE-1",
            "given_name": "Sam",
            "family_name": "Taylor",
            "date_of_birth": "2010-06-15",
            "sex": "female",
        },
        INTEGRATION,
    )
    episode = {"start_on": "2017-04-03", "reason_new_episode": "S", "legal_status": "C2"}
    _post(pair.reviews, f"/reviews/v1/children/{child['id']}/episodes", episode, INTEGRATION)
    # Due by 2017-05-04 (20 working days after 3 April); held a day late, no reason given.
    held = {"held_on": "2017-05-05", "participation_code": "PN1"}
    review = _post(pair.reviews, f"/reviews/v1/children/{child['id']}/reviews", held, IRO)
    assert (review["in_timescale"], review["late_reason"]) == (False, None)
    pair.forward()

    reasons = pair.late_reasons()
    assert reasons["not_recorded"] == 1
    assert sum(reasons.values()) == 1

    patched = pair.reviews.patch(
        f"/reviews/v1/reviews/{review['id']}",
        json={"late_reason": "missing_report"},
        headers={**IRO, "If-Match": f'"{review["version"]}"'},
    )
    assert patched.status_code == 200, patched.text
    pair.forward()

    reasons = pair.late_reasons()
    assert (reasons["missing_report"], reasons["not_recorded"]) == (1, 0)
    assert sum(reasons.values()) == 1
