"""scorecard-api on a migrated database, fed with events as the producers' relays send them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer
from scorecard_api.app import SPEC, create_app
from scorecard_api.settings import Settings

V1 = "/scorecard/v1"
PERFORMANCE = bearer("performance", subject="perf-1")
MANAGER = bearer("iro_manager", subject="manager-1")
ADMIN = bearer("admin", subject="admin-1")
SUPPORT = bearer("business_support", subject="support-1")
REVIEWS_RELAY = bearer("integration", subject="reviews-api")
DRP_RELAY = bearer("integration", subject="drp-api")


@pytest.fixture
def scorecard(database_url: str) -> Iterator[TestClient]:
    upgrade_to_head(SPEC.script_location, database_url)
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client


class Producer:
    """Sends whole-state events to the scorecard's inbox, with growing versions."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.version = 0
        self.sent: list[dict[str, Any]] = []

    def send(self, event_type: str, subject: Any, state: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        source = "/drp-api" if event_type == "dispute.changed" else "/reviews-api"
        event = {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": event_type,
            "subject": str(subject),
            "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": {**state, "version": self.version},
        }
        self.replay([event])
        self.sent.append(event)
        return event

    def replay(self, events: list[dict[str, Any]]) -> None:
        headers = DRP_RELAY if events[0]["source"] == "/drp-api" else REVIEWS_RELAY
        response = self.client.post("/scorecard/events", json=events, headers=headers)
        assert response.status_code == 200, response.text
        statuses = {r["status"] for r in response.json()["results"]}
        assert statuses <= {"applied", "duplicate"}, response.text

    # --- states as reviews-api and drp-api publish them -----------------------------------

    def child(
        self,
        child_id: uuid.UUID,
        born: str,
        episodes: list[tuple[str, str | None, str, str]],
        name: str = "Sam Taylor",
        deleted: bool = False,
    ) -> None:
        """`episodes`: (start_on, end_on, legal_status, reason_new_episode), one period each
        unless an episode continues the previous one; grouping is the consumer's job."""
        states = [
            {
                "id": str(uuid.uuid5(child_id, start)),
                "external_id": None,
                "start_on": start,
                "end_on": end,
                "reason_new_episode": rne,
                "legal_status": status,
                "placement": "U1",
                "reason_ended": None,
            }
            for start, end, status, rne in episodes
        ]
        given, _, family = name.partition(" ")
        self.send(
            "child.changed",
            child_id,
            {
                "id": str(child_id),
                "external_id": f"LCS-{str(child_id)[:6]}",
                "given_name": given,
                "family_name": family,
                "date_of_birth": born,
                "sex": "female",
                "periods_of_care": [
                    {
                        "start_on": states[0]["start_on"] if states else None,
                        "end_on": None,
                        "clock": "reg_33",
                        "legal_status": states[-1]["legal_status"] if states else None,
                        "episodes": states,
                    }
                ]
                if states
                else [],
                "deleted": deleted,
            },
        )

    def review(
        self,
        child_id: uuid.UUID,
        held_on: str,
        code: str | None = "PN1",
        review_id: uuid.UUID | None = None,
        deleted: bool = False,
        views: str | None = "in_person",
        late_reason: str | None = None,
    ) -> uuid.UUID:
        review_id = review_id or uuid.uuid4()
        self.send(
            "review.changed",
            review_id,
            {
                "id": str(review_id),
                "child_id": str(child_id),
                "scheduled_for": None,
                "held_on": held_on,
                "series_started_on": None,
                "period_started_on": None,
                "sequence": None,
                "due_by": None,
                "in_timescale": None,
                "participation_code": code,
                "views_method": views,
                "late_reason": late_reason,
                "deleted": deleted,
            },
        )
        return review_id

    def plans(self, child_id: uuid.UUID, dates: list[tuple[str, str]]) -> None:
        self.send(
            "plan.changed",
            child_id,
            {
                "child_id": str(child_id),
                "plan_dates": [
                    {"kind": k, "dated_on": d, "source": "integration"} for k, d in dates
                ],
            },
        )

    def visit(self, child_id: uuid.UUID, kind: str, on: str, deleted: bool = False) -> uuid.UUID:
        visit_id = uuid.uuid4()
        self.send(
            "visit.changed",
            visit_id,
            {
                "id": str(visit_id),
                "child_id": str(child_id),
                "kind": kind,
                "visited_on": on,
                "iro_id": None,
                "deleted": deleted,
            },
        )
        return visit_id

    def iro(self, iro_id: uuid.UUID, name: str, fte: float, start: str, end: str | None = None):
        self.send(
            "iro.changed",
            iro_id,
            {
                "id": str(iro_id),
                "name": name,
                "email": f"{name.split()[0].lower()}@la.example",
                "fte": fte,
                "in_post_from": start,
                "in_post_to": end,
            },
        )

    def allocations(self, child_id: uuid.UUID, entries: list[tuple[uuid.UUID, str, str | None]]):
        self.send(
            "allocation.changed",
            child_id,
            {
                "child_id": str(child_id),
                "allocations": [
                    {"id": str(uuid.uuid4()), "iro_id": str(i), "from_on": s, "to_on": e}
                    for i, s, e in entries
                ],
            },
        )


@pytest.fixture
def producer(scorecard: TestClient) -> Producer:
    return Producer(scorecard)


def dispute_state(
    dispute_id: uuid.UUID,
    child_id: uuid.UUID,
    iro_id: uuid.UUID,
    raised_on: str,
    overall_due_by: str,
    history: list[tuple[str, str, int, str, str | None]],
    themes: list[str],
    category: str = "lac",
) -> dict[str, Any]:
    """drp-api's dispute.changed state; `history`: (action, happened_on, stage, status, due)."""
    actions = [
        {
            "version": n,
            "action": action,
            "happened_on": on,
            "stage": stage,
            "status": status,
            "stage_due_by": due,
            "outcomes": [],
            "recorded_by": "iro-1",
        }
        for n, (action, on, stage, status, due) in enumerate(history, start=1)
    ]
    last = actions[-1]
    return {
        "id": str(dispute_id),
        "reference": f"DRP-{str(dispute_id)[:4]}",
        "child_id": str(child_id),
        "child_external_id": "LCS-1",
        "iro_id": str(iro_id),
        "category": category,
        "themes": themes,
        "raised_on": raised_on,
        "stage": last["stage"],
        "highest_stage": max(a["stage"] for a in actions),
        "status": last["status"],
        "stage_due_by": last["stage_due_by"],
        "overall_due_by": overall_due_by,
        "closed_on": None,
        "outcomes": [],
        "dispute_version": len(actions),
        "history": actions,
    }


def cloud_event(
    event_type: str, subject: Any, version: int, state: dict[str, Any], time: str = ""
) -> dict[str, Any]:
    """A producer's event as it arrives: `state` at `version` (the relay's envelope)."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/drp-api" if event_type == "dispute.changed" else "/reviews-api",
        "type": event_type,
        "subject": str(subject),
        "time": time or "2026-11-26T10:00:00Z",
        "data": {**state, "version": version},
    }
