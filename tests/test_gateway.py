"""The nginx gateway in front of the three services, all real processes on loopback."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from iro_kit.testing import bearer

from .conftest import free_port, start_gateway

pytestmark = pytest.mark.usefixtures("gateway")


@pytest.mark.parametrize(
    ("prefix", "service"),
    [("/reviews", "reviews-api"), ("/drp", "drp-api"), ("/scorecard", "scorecard-api")],
)
def test_each_prefix_reaches_its_own_service(gateway, prefix: str, service: str) -> None:
    live = httpx.get(f"{gateway.url}{prefix}/health/live")
    assert live.status_code == 200
    assert live.json()["service"] == service
    ready = httpx.get(f"{gateway.url}{prefix}/health/ready")
    assert ready.status_code == 200, ready.text
    docs = httpx.get(f"{gateway.url}{prefix}/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert f"{prefix}/openapi.json" in docs.text
    schema = httpx.get(f"{gateway.url}{prefix}/openapi.json").json()
    assert f"{prefix}/v1/me" in schema["paths"]


def test_authenticated_route_through_the_gateway(gateway) -> None:
    assert httpx.get(f"{gateway.url}/drp/v1/me").status_code == 401
    response = httpx.get(f"{gateway.url}/drp/v1/me", headers=bearer("iro_manager"))
    assert response.status_code == 200
    assert response.json()["roles"] == ["iro_manager"]


def test_request_id_is_forwarded_returned_and_logged(gateway, running_services) -> None:
    response = httpx.get(f"{gateway.url}/reviews/health/live", headers={"X-Request-ID": "gw-42"})
    assert response.headers.get_list("x-request-id") == ["gw-42"]
    # The access log line is written once the response has gone: give a busy machine a moment.
    deadline = time.monotonic() + 5
    while '"request_id": "gw-42"' not in running_services["reviews_api"].log_text():
        assert time.monotonic() < deadline, "the request id never reached the service's log"
        time.sleep(0.05)


def test_request_id_is_generated_by_the_gateway_when_absent(gateway, running_services) -> None:
    response = httpx.get(f"{gateway.url}/scorecard/health/live")
    generated = response.headers["x-request-id"]
    assert len(generated) == 32
    time.sleep(0.2)  # the access log line is written as the response completes
    assert f'"request_id": "{generated}"' in running_services["scorecard_api"].log_text()


@pytest.mark.parametrize(
    "path",
    [
        "/reviews/metrics",
        "/drp/events",
        "/scorecard/admin/outbox",
        "/reviews/events/x",
        "/reviews/v1/admin/dead-letters",
        "/drp/v1/events",
        "/REVIEWS/Metrics",
        "/reviews//metrics",
        "/reviews/%6detrics",
        "/reviews/./metrics",
        "/reviews/x/../metrics",
        "/drp/../reviews/metrics",
    ],
)
def test_internal_paths_are_refused_by_the_gateway_itself(gateway, path: str) -> None:
    response = httpx.get(f"{gateway.url}{path}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    # nginx answered, not a service: its problems name the request, not a path.
    assert response.json()["instance"].startswith("urn:iro:request:")


def test_metrics_are_still_served_by_the_service_directly(running_services) -> None:
    service = running_services["reviews_api"]
    response = httpx.get(f"{service.url}/reviews/metrics")
    assert response.status_code == 200
    assert "http_requests_total" in response.text


def test_unknown_path_is_a_problem(gateway) -> None:
    response = httpx.get(f"{gateway.url}/nowhere")
    assert response.status_code == 404
    assert response.json()["type"] == "https://iro.example/problems/not-found"


def _assert_security_headers(headers: httpx.Headers) -> None:
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" in headers
    assert "content-security-policy" in headers
    assert "server" not in headers or "nginx/" not in headers["server"]


def test_security_headers_are_set(gateway) -> None:
    _assert_security_headers(httpx.get(f"{gateway.url}/reviews/health/live").headers)
    _assert_security_headers(httpx.get(f"{gateway.url}/nowhere").headers)


def test_a_service_that_is_down_is_a_503_problem(running_services, tmp_path) -> None:
    upstreams = {
        "REVIEWS_UPSTREAM": f"127.0.0.1:{running_services['reviews_api'].port}",
        "DRP_UPSTREAM": f"127.0.0.1:{free_port()}",  # nothing listens here
        "SCORECARD_UPSTREAM": f"127.0.0.1:{running_services['scorecard_api'].port}",
    }
    with start_gateway(tmp_path, upstreams) as down:
        response = httpx.get(f"{down.url}/drp/health/live")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 503
        assert response.headers["retry-after"] == "5"
        _assert_security_headers(response.headers)
        assert httpx.get(f"{down.url}/reviews/health/live").status_code == 200


def test_a_malformed_request_is_a_400_problem(gateway) -> None:
    response = httpx.get(f"{gateway.url}/reviews/health/live", headers={"Host": ""})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "path", ["/drp/events%00", "/drp/v1/me%00", "/reviews/health/live%00", "/scorecard/%00"]
)
def test_an_encoded_nul_in_the_path_is_a_400_problem(gateway, path: str) -> None:
    response = httpx.get(f"{gateway.url}{path}", headers=bearer("iro"))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://iro.example/problems/bad-request"
    _assert_security_headers(response.headers)


@pytest.mark.parametrize("path", ["/drp/v1/me%01", "/reviews/v1/%0d%0a", "/scorecard/x%7f"])
def test_other_encoded_control_characters_in_the_path_are_a_4xx_problem(gateway, path: str) -> None:
    # nginx passes these on: the service finds no route and says so.
    response = httpx.get(f"{gateway.url}{path}", headers=bearer("iro"))
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"


MB = 1024 * 1024


def _declare_and_read(gateway, path: str, length: int, headers: dict[str, str]) -> int:
    """Send only the headers of a `length`-byte POST and return the status nginx answers."""
    host, port = gateway.url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = connection.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


def test_a_json_body_over_5_mb_is_refused_with_413(gateway) -> None:
    response = httpx.post(
        f"{gateway.url}/reviews/v1/me",
        content=b"x" * (5 * MB + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "5 MB" in response.json()["detail"]


def test_the_import_route_takes_up_to_200_mb_as_its_documentation_says(gateway) -> None:
    path = "/reviews/v1/imports/ssda903"
    multipart = {"Content-Type": "multipart/form-data; boundary=b"}
    # Past 200 MB, nginx refuses on the declared length alone.
    assert _declare_and_read(gateway, path, 200 * MB + 1, multipart) == 413
    # Under it, the body reaches the service, which refuses it for want of a token.
    response = httpx.post(f"{gateway.url}{path}", content=b"x" * (6 * MB), headers=multipart)
    assert response.status_code == 401
    assert response.json()["instance"] == path  # the service's answer, not nginx's
    schema = httpx.get(f"{gateway.url}/reviews/openapi.json").json()
    assert "200 MB" in schema["paths"][path]["post"]["description"]


def test_rate_limit_gives_429_problem(gateway) -> None:
    # Another loopback address is another client, so the other tests keep their budget.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    statuses = []
    with httpx.Client(transport=transport) as client:
        for _ in range(400):
            response = client.get(f"{gateway.url}/reviews/health/live")
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
    assert statuses[0] == 200
    assert statuses[-1] == 429, f"no 429 in {len(statuses)} requests"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "https://iro.example/problems/rate-limited"
    _assert_security_headers(response.headers)
