"""drp-api on a migrated database (SQLite, or PostgreSQL when configured)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from drp_api.app import SPEC, create_app
from drp_api.settings import Settings
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer

IRO = bearer("iro", subject="iro-1", name="Alex Morgan")
MANAGER = bearer("iro_manager", subject="manager-1", name="Pat Singh")
PERFORMANCE = bearer("performance", subject="perf-1")
SUPPORT = bearer("business_support", subject="support-1")
INTEGRATION = bearer("integration", subject="lcs")

V1 = "/drp/v1"
CHILD = {"id": str(uuid.uuid4()), "external_id": "LCS-100234", "name": "Sam Taylor"}
ALEX = {"id": str(uuid.uuid4()), "name": "Alex Morgan"}
BLAKE = {"id": str(uuid.uuid4()), "name": "Blake Jones"}


REVIEWS_RELAY = bearer("integration", subject="reviews-api")
_VERSIONS = itertools.count(1)  # each announcement newer than the last, so the copy takes it


def _event(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/reviews-api",
        "type": type_,
        "subject": data["id"],
        "time": "2026-11-26T10:00:00Z",
        "data": data,
    }


def people_events(
    children: Iterable[dict[str, Any]] = (), iros: Iterable[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Delivers reviews-api's `child.changed` / `iro.changed` for these people to drp-api's
    inbox, as reviews-api would: a dispute names its child and IRO by id, and drp-api takes
    their case id and names from the copy it keeps (the whole name as the given name, so it
    comes back as it was written)."""
    return [
        _event(
            "child.changed",
            {
                "id": child["id"],
                "external_id": child["external_id"],
                "given_name": child["name"],
                "family_name": None,
                "date_of_birth": "2010-06-15",
                "sex": "female",
                "periods_of_care": [],
                "deleted": bool(child.get("deleted", False)),
                "version": next(_VERSIONS),
            },
        )
        for child in children
    ] + [
        _event(
            "iro.changed",
            {
                "id": iro["id"],
                "name": iro["name"],
                "email": "iro@la.example",
                "fte": 1.0,
                "in_post_from": "2015-01-01",
                "in_post_to": None,
                "version": next(_VERSIONS),
            },
        )
        for iro in iros
    ]


def announce(
    client: Any, *, children: Iterable[dict[str, Any]] = (), iros: Iterable[dict[str, Any]] = ()
) -> None:
    """Delivers `people_events` to drp-api's inbox, with reviews-api's token."""
    events = people_events(children, iros)
    response = client.post("/drp/events", json=events, headers=REVIEWS_RELAY)
    assert response.status_code == 200, response.text


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    upgrade_to_head(SPEC.script_location, database_url)
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        announce(client, children=[CHILD], iros=[ALEX, BLAKE])
        yield client


def raise_body(**fields: Any) -> dict[str, Any]:
    """A dispute about CHILD raised by ALEX (both announced by the `api` fixture)."""
    return {
        "child_id": CHILD["id"],
        "category": "lac",
        "iro_id": ALEX["id"],
        "raised_on": "2017-04-13",
        "themes": ["drift_and_delay", "permanency"],
        "issue": "No permanence plan was agreed at the second review.",
        "outcome_sought": "A permanence planning meeting held by 28 April 2017.",
        "asked": {"name": "Jo Bloggs", "role": "Team manager"},
        **fields,
    }


TRANSITION_BODIES: dict[str, dict[str, Any]] = {
    "respond": {"responder": {"name": "Jo Bloggs"}, "response": "Meeting booked."},
    "escalate": {},
    "refer-to-cafcass": {"reason": "No agreement at director level."},
    "resolve": {"outcomes": ["care_plan_improved"], "summary": "Plan agreed."},
    "withdraw": {"reason": "The child returned home."},
    "reopen": {"reason": "The agreed meeting did not happen."},
}
DATE_FIELDS = {
    "respond": "responded_on",
    "escalate": "escalated_on",
    "refer-to-cafcass": "referred_on",
    "resolve": "resolved_on",
    "withdraw": "withdrawn_on",
    "reopen": "reopened_on",
}


class Disputes:
    """Raises disputes and takes them through the process through the API, keeping ETags."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.etags: dict[str, str] = {}

    def raise_(
        self,
        headers: dict[str, str] = IRO,
        child: dict[str, str] | None = None,
        raised_by: dict[str, str] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Raises a dispute; a `child` or `raised_by` other than CHILD and ALEX is announced to
        drp-api's copy first, as reviews-api's events would."""
        announce(
            self.client, children=[child] if child else [], iros=[raised_by] if raised_by else []
        )
        if child:
            fields["child_id"] = child["id"]
        if raised_by:
            fields["iro_id"] = raised_by["id"]
        response = self.client.post(f"{V1}/disputes", json=raise_body(**fields), headers=headers)
        assert response.status_code == 201, response.text
        dispute = response.json()
        self.etags[dispute["id"]] = response.headers["ETag"]
        return dispute

    def post(
        self, dispute_id: str, verb: str, on: str | None = None, **fields: Any
    ) -> httpx.Response:
        body = {**TRANSITION_BODIES[verb], **fields}
        if on is not None:
            body[DATE_FIELDS[verb]] = on
        headers = {**MANAGER, "If-Match": self.etags[dispute_id]}
        response = self.client.post(
            f"{V1}/disputes/{dispute_id}/{verb}", json=body, headers=headers
        )
        if response.status_code == 200:
            self.etags[dispute_id] = response.headers["ETag"]
        return response

    def act(self, dispute_id: str, verb: str, on: str | None = None, **fields: Any) -> dict:
        response = self.post(dispute_id, verb, on, **fields)
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, dispute_id: str) -> dict[str, Any]:
        response = self.client.get(f"{V1}/disputes/{dispute_id}", headers=IRO)
        assert response.status_code == 200, response.text
        return response.json()

    def history(self, dispute_id: str) -> list[dict[str, Any]]:
        response = self.client.get(f"{V1}/disputes/{dispute_id}/history", headers=IRO)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def disputes(api: TestClient) -> Disputes:
    return Disputes(api)


@pytest.fixture
def april_2017(disputes: Disputes) -> dict[str, dict[str, Any]]:
    """Four disputes of April 2017, for the tracker, worklists and statistics.

    stage due dates count 5 working days, across Good Friday (14) and Easter Monday (17):

        A  LAC  Alex   raised Mon 3 Apr; response 5 Apr; escalated to 2 on Fri 7 Apr (due
                       18 Apr); resolved 20 Apr, care plan improved (11 working days)
        B  CP   Blake  raised Mon 10 Apr (stage 1 due 19 Apr, overall due 11 May); no action
        C  LAC  Alex   raised Wed 12 Apr at stage 3, a bypass (due 21 Apr); referred to
                       Cafcass 24 Apr
        D  LAC  Alex   raised Wed 19 Apr (due 26 Apr); withdrawn 21 Apr
    """
    a = disputes.raise_(raised_on="2017-04-03", themes=["care_planning"])
    b = disputes.raise_(
        raised_on="2017-04-10",
        category="cp",
        raised_by=BLAKE,
        themes=["contact", "drift_and_delay"],
        child={**CHILD, "id": str(uuid.uuid4()), "external_id": "LCS-2", "name": "Kai Reed"},
    )
    c = disputes.raise_(raised_on="2017-04-12", stage=3, themes=["placement"])
    d = disputes.raise_(raised_on="2017-04-19", themes=["care_planning", "contact"])
    disputes.act(a["id"], "respond", "2017-04-05")
    disputes.act(a["id"], "escalate", "2017-04-07")
    disputes.act(a["id"], "resolve", "2017-04-20")
    disputes.act(c["id"], "refer-to-cafcass", "2017-04-24")
    disputes.act(d["id"], "withdraw", "2017-04-21")
    return {"A": a, "B": b, "C": c, "D": d}
