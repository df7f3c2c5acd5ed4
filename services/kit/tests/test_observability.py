"""Request ids, JSON logs without personal data, and Prometheus metrics per app."""

import json
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from iro_kit.testing import bearer


def test_request_id_is_taken_from_the_request(client: TestClient) -> None:
    response = client.get("/kit/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"


def test_request_id_is_generated_when_absent_or_unsafe(client: TestClient) -> None:
    first = client.get("/kit/health/live").headers["x-request-id"]
    second = client.get("/kit/health/live").headers["x-request-id"]
    assert len(first) == 32 and first != second
    injected = client.get("/kit/health/live", headers={"X-Request-ID": 'a b"<script>'})
    assert injected.headers["x-request-id"] != 'a b"<script>'


def test_error_responses_carry_the_request_id(client: TestClient) -> None:
    response = client.get("/kit/v1/me", headers={"X-Request-ID": "r-401"})
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "r-401"


def test_logs_are_json_bound_to_the_request_id_without_personal_data(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    client.post(
        "/kit/v1/reviews?child_name=Jane",
        json={"held_on": "2017-05-04", "participation_code": "PN1"},
        headers={**bearer("iro"), "X-Request-ID": "log-1"},
    )
    client.get("/kit/v1/boom", headers={**bearer("iro"), "X-Request-ID": "log-2"})
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")
    ]
    access = [line for line in lines if line.get("event") == "request"]
    assert {k: access[0][k] for k in ("request_id", "route", "status")} == {
        "request_id": "log-1",
        "route": "/kit/v1/reviews",
        "status": 201,
    }
    errors = [line for line in lines if line.get("event") == "unhandled_error"]
    assert errors and errors[0]["request_id"] == "log-2"
    assert errors[0]["error_type"] == "RuntimeError" and errors[0]["frames"]
    everything = json.dumps(lines)
    assert "Jane" not in everything
    assert "2017-05-04" not in everything


def test_metrics_count_requests_by_route_template_and_status(client: TestClient) -> None:
    client.get("/kit/v1/me", headers=bearer("iro"))
    client.get("/kit/v1/me")
    client.get("/kit/v1/nowhere/7")
    text = client.get("/kit/metrics").text
    assert (
        'http_requests_total{method="GET",route="/kit/v1/me",service="kit-probe",status="200"} 1.0'
        in text
    )
    assert (
        'http_requests_total{method="GET",route="/kit/v1/me",service="kit-probe",status="401"} 1.0'
        in text
    )
    assert 'route="unmatched"' in text
    assert "/kit/v1/nowhere/7" not in text
    assert "http_request_duration_seconds_bucket" in text


def test_two_apps_in_one_process_keep_their_own_metrics(make_app: Callable[..., FastAPI]) -> None:
    with TestClient(make_app()) as first, TestClient(make_app(migrate=False)) as second:
        for _ in range(3):
            first.get("/kit/health/live")
        second.get("/kit/health/live")
        assert (
            'route="/kit/health/live",service="kit-probe",status="200"} 3.0'
            in first.get("/kit/metrics").text
        )
        assert (
            'route="/kit/health/live",service="kit-probe",status="200"} 1.0'
            in second.get("/kit/metrics").text
        )
