"""CORS from settings: preflights answered before the token check, exposed headers readable,
CORS headers on the gate's own problems, and nothing at all for other origins or by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from iro_kit.settings import ServiceSettings
from iro_kit.testing import bearer

FRONT_END = "https://front.example"
OTHER = "https://elsewhere.example"
EXPOSED = {"etag", "location", "content-disposition", "x-request-id", "retry-after"}


def _cors_headers(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


def _listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


def _preflight(client: TestClient, origin: str, method: str = "PATCH") -> Any:
    return client.options(
        "/kit/v1/managers-only",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
        },
    )


@pytest.fixture
def cors_client(make_app: Callable[..., FastAPI]) -> Any:
    app = make_app(cors_allow_origins=[FRONT_END])
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_an_allowed_origins_preflight_is_answered_without_a_token(cors_client) -> None:
    response = _preflight(cors_client, FRONT_END)
    assert response.status_code in (200, 204), response.text
    assert response.headers["access-control-allow-origin"] == FRONT_END
    methods = _listed(response.headers["access-control-allow-methods"])
    assert methods >= {"get", "post", "patch", "put", "delete", "options"}
    allowed = _listed(response.headers["access-control-allow-headers"])
    assert allowed >= {"authorization", "content-type", "if-match", "idempotency-key"}
    assert "x-request-id" in allowed
    assert "origin" in _listed(response.headers["vary"])


def test_an_allowed_origin_can_read_the_exposed_headers(cors_client) -> None:
    response = cors_client.get(
        "/kit/v1/managers-only", headers={"Origin": FRONT_END, **bearer("iro_manager")}
    )
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == FRONT_END
    assert _listed(response.headers["access-control-expose-headers"]) == EXPOSED
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/kit/v1/managers-only", {}, 401),  # the gate, before any route
        ("GET", "/kit/v1/managers-only", bearer("iro"), 403),
        ("POST", "/kit/v1/notes", {"Content-Length": str(6 * 1024 * 1024)}, 413),
        ("GET", "/kit/v1/boom", bearer("iro"), 500),  # the last-resort problem
        ("GET", "/kit/v1/nowhere", {}, 404),
    ],
)
def test_problems_of_our_own_middleware_carry_the_cors_headers(
    cors_client, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    content = b"[]" if method == "POST" else None
    response = cors_client.request(
        method, path, headers={"Origin": FRONT_END, **headers}, content=content
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["access-control-allow-origin"] == FRONT_END
    assert _listed(response.headers["access-control-expose-headers"]) == EXPOSED


def test_a_disallowed_origin_gets_no_cors_headers(cors_client) -> None:
    preflight = _preflight(cors_client, OTHER)
    assert _cors_headers(preflight) == {}
    assert preflight.status_code == 405  # an OPTIONS like any other: no route answers it
    response = cors_client.get("/kit/v1/managers-only", headers={"Origin": OTHER, **bearer()})
    assert _cors_headers(response) == {}
    # The answer depends on the Origin even when it is refused: caches must not mix them up.
    assert "origin" in _listed(response.headers["vary"])


def test_an_origin_that_only_contains_an_allowed_one_is_refused(cors_client) -> None:
    for origin in (FRONT_END + ".evil.example", FRONT_END + "/", "null", FRONT_END.upper()):
        assert _cors_headers(_preflight(cors_client, origin)) == {}, origin


def test_no_cors_headers_by_default(client) -> None:
    assert ServiceSettings().cors_allow_origins == []
    preflight = _preflight(client, FRONT_END)
    assert preflight.status_code == 405
    assert _cors_headers(preflight) == {}
    response = client.get("/kit/v1/managers-only", headers={"Origin": FRONT_END})
    assert response.status_code == 401
    assert _cors_headers(response) == {}
    assert "vary" not in response.headers


def test_origins_come_from_the_services_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRO_CORS_ALLOW_ORIGINS", f'["{FRONT_END}", "http://127.0.0.1:5173"]')
    assert ServiceSettings().cors_allow_origins == [FRONT_END, "http://127.0.0.1:5173"]


@pytest.mark.parametrize(
    "origin",
    ["*", "https://front.example/", "front.example", "https://Front.example", "ftp://x.example"],
)
def test_an_origin_no_browser_would_send_is_refused_at_start_up(origin: str) -> None:
    with pytest.raises(ValidationError, match="cors_allow_origins"):
        ServiceSettings(cors_allow_origins=[origin])
