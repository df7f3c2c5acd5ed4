"""Authentication before the body, and each service's own body limits (issue 11).

The checks that matter for abuse run against a real uvicorn server over a socket: a client
sends the headers and a few KB of a large body, and the answer must come back before the rest
is sent, with the application never having called `receive`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, File, UploadFile
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.types import Message, Receive, Scope, Send

from iro_kit.app import ServiceSpec, create_service_app
from iro_kit.auth import Principal, require_roles
from iro_kit.idempotency import idempotency_table
from iro_kit.migrations import upgrade_to_head
from iro_kit.settings import ServiceSettings
from iro_kit.testing import assert_problem, bearer

from .conftest import MIGRATIONS

JSON_LIMIT = 64 * 1024
UPLOAD_LIMIT = 32 * 1024 * 1024
MB = 1024 * 1024
_IDEMPOTENCY = idempotency_table(MetaData())


class Labels(BaseModel):
    labels: list[str]


def _router() -> APIRouter:
    router = APIRouter(prefix="/gate/v1", tags=["probe"])

    @router.post("/labels")
    async def count_labels(body: Labels, _: Principal = Depends(require_roles())) -> int:
        return len(body.labels)

    @router.post("/open-labels")
    async def count_open_labels(body: Labels) -> int:
        return len(body.labels)

    @router.post("/uploads")
    async def upload(
        files: Annotated[list[UploadFile], File()], _: Principal = Depends(require_roles())
    ) -> int:
        total = 0
        for upload_file in files:
            while chunk := await upload_file.read(MB):
                total += len(chunk)
        return total

    return router


SPEC = ServiceSpec(
    name="gate-probe",
    prefix="/gate",
    title="Gate probe",
    description="A service that exists only in the kit's tests of the request gate.",
    script_location=MIGRATIONS,
    routers=[_router()],
    idempotency=_IDEMPOTENCY,
)


async def _create_idempotency_table(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_IDEMPOTENCY.metadata.create_all)
    await engine.dispose()


@pytest.fixture
def gate_app(database_url: str) -> FastAPI:
    upgrade_to_head(MIGRATIONS, database_url)
    asyncio.run(_create_idempotency_table(database_url))
    settings = ServiceSettings(
        database_url=database_url,
        max_json_body_bytes=JSON_LIMIT,
        max_upload_body_bytes=UPLOAD_LIMIT,
    )
    return create_service_app(SPEC, settings)


@pytest.fixture
def gate_client(gate_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(gate_app, raise_server_exceptions=False) as client:
        yield client


# -- through the test client ----------------------------------------------------------------


def test_malformed_json_without_a_token_is_401_not_400(client: TestClient) -> None:
    response = client.post(
        "/kit/v1/reviews", content=b"{bad", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_bad_token_is_refused_before_the_body_too(client: TestClient) -> None:
    response = client.post(
        "/kit/v1/reviews",
        content=b"{bad",
        headers={"Content-Type": "application/json", "Authorization": "Bearer not-a-jwt"},
    )
    assert_problem(response, 401, "unauthorized")


def test_malformed_json_with_a_token_is_still_400(client: TestClient) -> None:
    response = client.post(
        "/kit/v1/reviews",
        content=b"{bad",
        headers={"Content-Type": "application/json", **bearer("iro")},
    )
    assert_problem(response, 400, "bad-request")


def test_json_over_the_limit_with_a_token_is_413(gate_client: TestClient) -> None:
    body = json.dumps({"labels": ["x" * 1000] * 100}).encode()
    assert len(body) > JSON_LIMIT
    response = gate_client.post(
        "/gate/v1/labels",
        content=body,
        headers={"Content-Type": "application/json", **bearer("iro")},
    )
    problem = assert_problem(response, 413, "payload-too-large")
    assert "64 KB" in problem["detail"] or str(JSON_LIMIT) in problem["detail"]


def test_chunked_json_over_the_limit_is_cut_off_with_413(gate_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"labels": ['
        for _ in range(200):
            yield b'"' + b"x" * 1000 + b'",'
        yield b'"x"]}'

    for key in (None, "retry-1"):  # also through the Idempotency-Key middleware's buffering
        headers = {"Content-Type": "application/json", **bearer("iro")}
        if key:
            headers["Idempotency-Key"] = key
        response = gate_client.post("/gate/v1/labels", content=chunks(), headers=headers)
        assert "content-length" not in response.request.headers
        assert_problem(response, 413, "payload-too-large")


def test_a_route_without_auth_has_the_json_limit_too(gate_client: TestClient) -> None:
    body = json.dumps({"labels": ["x" * 1000] * 100}).encode()
    response = gate_client.post(
        "/gate/v1/open-labels", content=body, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")
    small = gate_client.post("/gate/v1/open-labels", json={"labels": ["a", "b"]})
    assert small.status_code == 200 and small.json() == 2


def test_an_upload_route_has_the_upload_limit(gate_client: TestClient) -> None:
    files = [("files", ("a.csv", b"x" * (2 * JSON_LIMIT), "text/csv"))]
    accepted = gate_client.post("/gate/v1/uploads", files=files, headers=bearer("iro"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == 2 * JSON_LIMIT
    too_big = [("files", ("a.csv", b"x" * (UPLOAD_LIMIT + 1), "text/csv"))]
    refused = gate_client.post("/gate/v1/uploads", files=too_big, headers=bearer("iro"))
    assert_problem(refused, 413, "payload-too-large")


def test_the_token_is_verified_once_per_request(
    gate_app: FastAPI, gate_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = gate_app.state.token_verifier
    calls = []
    original = verifier.verify

    async def counting(token: str) -> Principal:
        calls.append(token)
        return await original(token)

    monkeypatch.setattr(verifier, "verify", counting)
    headers = {**bearer("iro"), "Idempotency-Key": "once-1"}
    response = gate_client.post("/gate/v1/labels", json={"labels": ["a"]}, headers=headers)
    assert response.status_code == 200, response.text
    assert len(calls) == 1


def test_public_routes_need_no_token(gate_client: TestClient) -> None:
    assert gate_client.get("/gate/health/live").status_code == 200
    assert gate_client.get("/gate/openapi.json").status_code == 200
    assert gate_client.get("/gate/docs").status_code == 200
    assert_problem(gate_client.get("/gate/v1/nowhere"), 404, "not-found")


def test_limits_are_settings_with_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = ServiceSettings()
    # 200 MB: the gateway's client_max_body_size for the import route, and the README's.
    assert (defaults.max_json_body_bytes, defaults.max_upload_body_bytes) == (5 * MB, 200 * MB)
    monkeypatch.setenv("IRO_MAX_JSON_BODY_BYTES", "2048")
    monkeypatch.setenv("IRO_MAX_UPLOAD_BODY_BYTES", "4096")
    settings = ServiceSettings()
    assert (settings.max_json_body_bytes, settings.max_upload_body_bytes) == (2048, 4096)


# -- a real server over a socket ------------------------------------------------------------


@dataclass
class Served:
    port: int
    receives: dict[str, int] = field(default_factory=dict)

    def connect(self) -> socket.socket:
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection


def _counting(app: FastAPI, receives: dict[str, int]) -> Callable[..., Any]:
    """The app as uvicorn sees it, counting the `receive` calls made for each path."""

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def counting_receive() -> Message:
            receives[scope["path"]] = receives.get(scope["path"], 0) + 1
            return await receive()

        await app(scope, counting_receive, send)

    return counted


@pytest.fixture
def served(gate_app: FastAPI) -> Iterator[Served]:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    receives: dict[str, int] = {}
    config = uvicorn.Config(
        _counting(gate_app, receives), host="127.0.0.1", port=port, log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield Served(port, receives)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _head(path: str, content_length: int | None, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if content_length is None:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        assert chunk, f"the server closed the connection without answering: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        assert chunk, "the server closed the connection mid-response"
        body += chunk
    return int(status_line.split()[1]), headers, body[:length]


@pytest.mark.parametrize("idempotency_key", [None, "big-1"])
def test_a_50_mb_body_without_a_token_is_refused_at_once_unread(
    served: Served, idempotency_key: str | None
) -> None:
    headers = {"Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    with served.connect() as connection:
        started = time.perf_counter()
        connection.sendall(_head("/gate/v1/labels", 50 * MB, headers))
        connection.sendall(b'{"labels": [' + b'"x",' * 1024)  # 4 KB of the 50 MB
        status, response_headers, body = _read_response(connection)
        elapsed = time.perf_counter() - started
    assert status == 401
    assert response_headers["content-type"] == "application/problem+json"
    assert json.loads(body)["type"].endswith("/unauthorized")
    # Answered with 49.99 MB still unsent, and the application never asked for the body.
    assert served.receives.get("/gate/v1/labels", 0) == 0
    assert elapsed < 0.1, f"the 401 took {elapsed * 1000:.0f} ms"


def test_a_declared_length_over_the_limit_is_413_before_the_body(served: Served) -> None:
    headers = {"Content-Type": "application/json", **bearer("iro")}
    with served.connect() as connection:
        started = time.perf_counter()
        connection.sendall(_head("/gate/v1/labels", 50 * MB, headers))
        connection.sendall(b'{"labels": [')
        status, _, body = _read_response(connection)
        elapsed = time.perf_counter() - started
    assert status == 413
    assert json.loads(body)["type"].endswith("/payload-too-large")
    assert served.receives.get("/gate/v1/labels", 0) == 0
    assert elapsed < 0.1, f"the 413 took {elapsed * 1000:.0f} ms"


def _send_until_answered(
    served: Served, head: bytes, chunks: Iterator[bytes], pause: float, outcome: dict[str, Any]
) -> None:
    """Send `chunks` one by one until the server answers (or the body is all sent)."""
    with served.connect() as connection:
        connection.sendall(head)
        sent = len(head)
        try:
            for chunk in chunks:
                connection.sendall(chunk)
                sent += len(chunk)
                time.sleep(pause)
                connection.setblocking(False)
                try:
                    answered = connection.recv(1, socket.MSG_PEEK)
                except BlockingIOError:
                    answered = b""
                finally:
                    connection.setblocking(True)
                if answered:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what it said is still readable
        outcome["sent"] = sent
        outcome["status"] = _read_response(connection)[0]


def _json_chunks(total: int, size: int) -> Iterator[bytes]:
    yield b'{"labels": ['
    item = b'"' + b"x" * 1000 + b'",'
    per_chunk = max(1, size // len(item))
    for _ in range(total // (per_chunk * len(item))):
        yield item * per_chunk
    yield b'"x"]}'


def _chunked(chunks: Iterator[bytes]) -> Iterator[bytes]:
    for chunk in chunks:
        yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    yield b"0\r\n\r\n"


def _multipart(total: int, size: int, boundary: str) -> tuple[int, Iterator[bytes]]:
    opening = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    closing = f"\r\n--{boundary}--\r\n".encode()

    def chunks() -> Iterator[bytes]:
        yield opening
        for _ in range(total // size):
            yield b"x" * size
        yield closing

    return len(opening) + (total // size) * size + len(closing), chunks()


def test_health_answers_while_three_large_bodies_are_uploaded(served: Served) -> None:
    """The issue's three 48 MB bodies, one without a token, one over the JSON limit, and an
    upload within its limit sent slowly: none of them holds up /health/live."""
    big = 48 * MB
    boundary = "gate-probe-boundary"
    upload_length, upload_chunks = _multipart(24 * MB, 256 * 1024, boundary)
    senders = {
        "unauthenticated": (
            _head(
                "/gate/v1/labels",
                sum(len(chunk) for chunk in _json_chunks(big, MB)),
                {"Content-Type": "application/json"},
            ),
            _json_chunks(big, MB),
            0.0,
        ),
        "over the JSON limit": (
            _head("/gate/v1/labels", None, {"Content-Type": "application/json", **bearer("iro")}),
            _chunked(_json_chunks(big, MB)),
            0.0,
        ),
        "slow upload": (
            _head(
                "/gate/v1/uploads",
                upload_length,
                {"Content-Type": f"multipart/form-data; boundary={boundary}", **bearer("iro")},
            ),
            upload_chunks,
            0.02,
        ),
    }
    outcomes: dict[str, dict[str, Any]] = {name: {} for name in senders}
    threads = [
        threading.Thread(target=_send_until_answered, args=(served, *args, outcomes[name]))
        for name, args in senders.items()
    ]
    for thread in threads:
        thread.start()
    slowest = 0.0
    with httpx.Client(base_url=f"http://127.0.0.1:{served.port}", timeout=10) as client:
        while any(thread.is_alive() for thread in threads):
            started = time.perf_counter()
            assert client.get("/gate/health/live").status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.02)
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes["unauthenticated"]["status"] == 401
    assert outcomes["unauthenticated"]["sent"] < big / 2
    assert outcomes["over the JSON limit"]["status"] == 413
    assert outcomes["over the JSON limit"]["sent"] < big / 2
    assert outcomes["slow upload"]["status"] == 200
    assert slowest < 0.25, f"/health/live took {slowest * 1000:.0f} ms at worst"
