"""reviews-api on a migrated database (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer
from reviews_api.app import SPEC, create_app
from reviews_api.settings import Settings

MANAGER = bearer("iro_manager", subject="manager-1")
IRO = bearer("iro", subject="iro-1")
SUPPORT = bearer("business_support", subject="support-1")
INTEGRATION = bearer("integration", subject="lcs")
PERFORMANCE = bearer("performance")


def if_match(record: dict[str, Any], headers: dict[str, str]) -> dict[str, str]:
    """`headers` with If-Match naming the record's version as read (its ETag)."""
    return {**headers, "If-Match": f'"{record["version"]}"'}


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    upgrade_to_head(SPEC.script_location, database_url)
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client


class Builder:
    """Makes records through the API, as the case system and IROs would."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._n = 0

    def child(self, date_of_birth: str = "2010-06-15", **fields: Any) -> dict[str, Any]:
        self._n += 1
        body = {
            "external_id": f"LCS-{self._n}",
            "given_name": "Sam",
            "family_name": f"Taylor{self._n}",
            "date_of_birth": date_of_birth,
            "sex": "female",
            **fields,
        }
        response = self.client.post("/reviews/v1/children", json=body, headers=INTEGRATION)
        assert response.status_code == 201, response.text
        return response.json()

    def episode(self, child_id: str, start_on: str, **fields: Any) -> dict[str, Any]:
        body = {"start_on": start_on, "reason_new_episode": "S", "legal_status": "C2", **fields}
        response = self.client.post(
            f"/reviews/v1/children/{child_id}/episodes", json=body, headers=INTEGRATION
        )
        assert response.status_code == 201, response.text
        return response.json()

    def looked_after(self, start_on: str = "2017-04-03", **child: Any) -> dict[str, Any]:
        made = self.child(**child)
        self.episode(made["id"], start_on)
        return made

    def review(self, child_id: str, held_on: str, **fields: Any) -> dict[str, Any]:
        body = {"held_on": held_on, "participation_code": "PN1", **fields}
        response = self.client.post(
            f"/reviews/v1/children/{child_id}/reviews", json=body, headers=IRO
        )
        assert response.status_code == 201, response.text
        return response.json()

    def iro(self, name: str = "Alex IRO", fte: float = 1.0, **fields: Any) -> dict[str, Any]:
        self._n += 1
        body = {
            "name": name,
            "email": f"iro{self._n}@la.example",
            "fte": fte,
            "start_on": "2015-01-01",
            **fields,
        }
        response = self.client.post("/reviews/v1/iros", json=body, headers=MANAGER)
        assert response.status_code == 201, response.text
        return response.json()

    def schedule(self, child_id: str, as_at: str) -> dict[str, Any]:
        response = self.client.get(
            f"/reviews/v1/children/{child_id}/schedule", params={"as_at": as_at}, headers=IRO
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def make(api: TestClient) -> Builder:
    return Builder(api)
