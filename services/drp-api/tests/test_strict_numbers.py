"""A stage is a number: JSON `true` is not stage 1 (schemathesis found the scorecard's targets
taking `false` for a number; the same lax conversion let a boolean through here)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from iro_kit.testing import assert_problem

from .conftest import IRO, V1, Disputes, raise_body


def test_a_boolean_stage_is_refused_when_raising(api: TestClient) -> None:
    refused = api.post(f"{V1}/disputes", json=raise_body(stage=True), headers=IRO)
    assert_problem(refused, 422, "validation-error", "/stage")
    assert api.post(f"{V1}/disputes", json=raise_body(stage=2), headers=IRO).status_code == 201


def test_a_boolean_stage_is_refused_when_escalating(disputes: Disputes) -> None:
    dispute = disputes.raise_()
    refused = disputes.post(dispute["id"], "escalate", "2017-04-20", to_stage=True)
    assert_problem(refused, 422, "validation-error", "/to_stage")
    escalated = disputes.post(dispute["id"], "escalate", "2017-04-20", to_stage=2)
    assert escalated.status_code == 200, escalated.text
    assert escalated.json()["stage"] == 2
