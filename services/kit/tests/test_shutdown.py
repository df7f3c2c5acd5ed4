"""SIGTERM: stop accepting, finish in-flight requests within the grace, exit; the relay too.

A real uvicorn process started by the kit's runner (`service_main`), so what is tested is the
process a deployment runs, signal handling included.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from iro_kit.migrations import upgrade_to_head

from .conftest import MIGRATIONS

KIT_TESTS = Path(__file__).parent
GRACE = 3
# uvicorn re-raises the signal once it has shut down, so the exit status says "terminated".
STOPPED_BY_SIGTERM = (0, -signal.SIGTERM)

# The kit's probe service plus one slow route, served by the runner as `python -m` would.
SLOW_SERVICE = f"""
import asyncio, importlib.util, sys
from dataclasses import replace
from fastapi import APIRouter
probe = sys.modules.get("kit_probe")  # loaded once, though uvicorn imports this file again
if probe is None:
    spec = importlib.util.spec_from_file_location("kit_probe", {str(KIT_TESTS / "conftest.py")!r})
    probe = sys.modules["kit_probe"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe)
from iro_kit.app import create_service_app
from iro_kit.runner import service_main
from iro_kit.settings import ServiceSettings

slow = APIRouter(prefix="/kit/v1")

@slow.get("/slow")
async def take_time(seconds: float) -> dict:
    await asyncio.sleep(seconds)
    return {{"slept": seconds}}

SPEC = replace(probe.SPEC, routers=[*probe.SPEC.routers, slow])

def create():
    return create_service_app(SPEC, ServiceSettings())

if __name__ == "__main__":
    service_main(SPEC, ServiceSettings, "slow_service:create", 0)
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    log: Path
    port: int


def _start(tmp_path: Path, database_url: str, *command: str) -> subprocess.Popen[bytes]:
    (tmp_path / "slow_service.py").write_text(SLOW_SERVICE)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
        "IRO_DATABASE_URL": database_url,
        "IRO_SHUTDOWN_GRACE_SECONDS": str(GRACE),
        "IRO_EVENT_ROUTES": '[{"subscriber": "nobody", "url": "http://127.0.0.1:9/e", '
        '"types": ["*"]}]',
    }
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "slow_service.py"), *command],
        env=env,
        cwd=tmp_path,
        stdout=(tmp_path / "service.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    upgrade_to_head(MIGRATIONS, database_url)
    port = _free_port()
    process = _start(tmp_path, database_url, "serve", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/kit/health/live", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail((tmp_path / "service.log").read_text())
    try:
        yield Served(process, url, tmp_path / "service.log", port)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _get_in_background(url: str) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["response"] = httpx.get(url, timeout=60)
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_sigterm_lets_the_request_in_flight_finish_and_refuses_new_ones(served: Served) -> None:
    thread, outcome = _get_in_background(f"{served.url}/kit/v1/slow?seconds=1.5")
    time.sleep(0.4)  # the request is in the route's sleep
    signalled = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert _refuses_connections(served.port), "still accepting after SIGTERM"
    thread.join(timeout=10)
    response = outcome.get("response")
    assert isinstance(response, httpx.Response), outcome
    assert response.status_code == 200
    assert response.json() == {"slept": 1.5}
    assert served.process.wait(timeout=GRACE + 5) in STOPPED_BY_SIGTERM
    assert time.monotonic() - signalled < GRACE + 2
    assert "Application shutdown complete." in served.log.read_text()


def test_sigterm_exits_within_the_grace_when_a_request_takes_longer(served: Served) -> None:
    """uvicorn's default would wait for ever; the grace bounds the shutdown."""
    thread, outcome = _get_in_background(f"{served.url}/kit/v1/slow?seconds=30")
    time.sleep(0.4)
    signalled = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    try:
        served.process.wait(timeout=GRACE + 5)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {GRACE + 5} s after SIGTERM with a {GRACE} s grace")
    assert GRACE - 0.5 <= time.monotonic() - signalled < GRACE + 3
    thread.join(timeout=10)
    assert "response" not in outcome or outcome["response"].status_code >= 500  # type: ignore[union-attr]
    assert "service_started" in served.log.read_text()


def test_the_relay_command_stops_cleanly_on_sigterm(tmp_path: Path, database_url: str) -> None:
    upgrade_to_head(MIGRATIONS, database_url)
    relay = _start(tmp_path, database_url, "relay")
    try:
        time.sleep(2.0)  # started, delivering to a subscriber that refuses
        assert relay.poll() is None, (tmp_path / "service.log").read_text()
        signalled = time.monotonic()
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(timeout=GRACE + 5) in STOPPED_BY_SIGTERM, (
            tmp_path / "service.log"
        ).read_text()
        assert time.monotonic() - signalled < GRACE + 1
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait(timeout=10)
    assert "Traceback" not in (tmp_path / "service.log").read_text()
