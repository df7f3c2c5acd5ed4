"""CORS through the nginx gateway: the gateway's allow-list decides, preflights are answered
at nginx, and a service's own CORS headers never make a second value."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from iro_kit.testing import bearer

from .conftest import SERVICES, Gateway, RunningService, start_gateway

BOTH = "https://both.example"  # allowed by the gateway and by the services
GATEWAY_ONLY = "https://gateway-only.example"
SERVICE_ONLY = "https://service-only.example"  # a service would allow it; the gateway does not
STRANGER = "https://stranger.example"
EXPOSED = {"etag", "location", "content-disposition", "x-request-id", "retry-after"}


@pytest.fixture(scope="module")
def _services_allow_origins() -> Iterator[None]:
    names = [f"{info.env_prefix}CORS_ALLOW_ORIGINS" for info in SERVICES]
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: f'["{BOTH}", "{SERVICE_ONLY}"]' for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def running_services(
    _services_allow_origins: None, running_services: dict[str, RunningService]
) -> dict[str, RunningService]:
    """The shared services, started with CORS of their own (the case that duplicates)."""
    return running_services


@pytest.fixture(scope="module")
def cors_gateway(
    running_services: dict[str, RunningService], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    values = {
        f"{info.env_prefix}UPSTREAM": f"127.0.0.1:{running_services[info.module].port}"
        for info in SERVICES
    }
    values["GATEWAY_CORS_ALLOW_ORIGINS"] = f"{BOTH} {GATEWAY_ONLY}"
    directory: Path = tmp_path_factory.mktemp("cors-gateway")
    with start_gateway(directory, values) as started:
        yield started


def _listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


def _preflight(gateway: Gateway, origin: str, path: str = "/drp/v1/me") -> httpx.Response:
    return httpx.options(
        f"{gateway.url}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, if-match, idempotency-key",
        },
    )


def _cors(response: httpx.Response) -> dict[str, list[str]]:
    return {
        name: response.headers.get_list(name)
        for name in {k.lower() for k in response.headers}
        if name.startswith("access-control-")
    }


@pytest.mark.parametrize("origin", [BOTH, GATEWAY_ONLY])
@pytest.mark.parametrize("prefix", ["/reviews", "/drp", "/scorecard"])
def test_an_allowed_origins_preflight_is_answered_once(
    cors_gateway: Gateway, origin: str, prefix: str
) -> None:
    response = _preflight(cors_gateway, origin, f"{prefix}/v1/me")
    assert response.status_code in (200, 204)
    cors = _cors(response)
    assert cors["access-control-allow-origin"] == [origin]
    assert _listed(cors["access-control-allow-methods"][0]) >= {
        "get", "post", "patch", "put", "delete", "options"
    }  # fmt: skip
    allowed = _listed(cors["access-control-allow-headers"][0])
    assert allowed >= {"authorization", "content-type", "if-match", "idempotency-key"}
    assert "x-request-id" in allowed
    assert all(len(values) == 1 for values in cors.values()), cors


@pytest.mark.parametrize("origin", [BOTH, GATEWAY_ONLY])
def test_an_allowed_origin_reads_the_exposed_headers_with_one_allow_origin(
    cors_gateway: Gateway, origin: str
) -> None:
    response = httpx.get(
        f"{cors_gateway.url}/drp/v1/me", headers={"Origin": origin, **bearer("iro")}
    )
    assert response.status_code == 200, response.text
    cors = _cors(response)
    # Both nginx and drp-api would add it for BOTH: the browser must still see one value.
    assert cors["access-control-allow-origin"] == [origin]
    assert len(cors["access-control-expose-headers"]) == 1
    assert _listed(cors["access-control-expose-headers"][0]) == EXPOSED
    assert response.headers.get_list("x-request-id")


def test_the_gateways_own_problems_are_readable_cross_origin(cors_gateway: Gateway) -> None:
    for path in ("/reviews/metrics", "/nowhere"):  # nginx's 404, not a service's
        response = httpx.get(f"{cors_gateway.url}{path}", headers={"Origin": BOTH})
        assert response.status_code == 404
        assert response.headers.get_list("access-control-allow-origin") == [BOTH]
    unauthorised = httpx.get(f"{cors_gateway.url}/reviews/v1/me", headers={"Origin": BOTH})
    assert unauthorised.status_code == 401
    assert unauthorised.headers.get_list("access-control-allow-origin") == [BOTH]


@pytest.mark.parametrize("origin", [STRANGER, SERVICE_ONLY, f"x |{BOTH}", BOTH + "/"])
def test_a_disallowed_origin_gets_no_cors_headers(cors_gateway: Gateway, origin: str) -> None:
    preflight = _preflight(cors_gateway, origin)
    assert _cors(preflight) == {}
    assert preflight.status_code not in (200, 204)
    response = httpx.get(
        f"{cors_gateway.url}/drp/v1/me", headers={"Origin": origin, **bearer("iro")}
    )
    assert response.status_code == 200
    assert _cors(response) == {}


def test_the_default_gateway_sends_no_cors_headers(gateway: Gateway) -> None:
    # The shared gateway is rendered as compose renders it: no origins.
    for origin in (BOTH, GATEWAY_ONLY):
        preflight = _preflight(gateway, origin)
        assert preflight.status_code == 405
        assert _cors(preflight) == {}
        response = httpx.get(f"{gateway.url}/drp/v1/me", headers={"Origin": origin})
        assert response.status_code == 401
        assert _cors(response) == {}
