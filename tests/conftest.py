"""Cross-service fixtures: the three services as real processes on loopback, and nginx."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from iro_kit.testing import (
    create_postgres_database,
    drop_postgres_database,
    postgres_admin_url,
    skip_unless_available,
)

ROOT = Path(__file__).resolve().parents[1]
GATEWAY_TEMPLATES = ROOT / "deploy" / "gateway" / "templates"


# Figures of the fault tests: printed in the run's summary, so a passing run shows them too.
FAULT_FIGURES: list[tuple[str, str, Path]] = []


def show_figures(name: str, figures_json: str, path: Path) -> None:
    print(name, figures_json)
    FAULT_FIGURES.append((name, figures_json, path))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FAULT_FIGURES:
        return
    terminalreporter.section("fault test figures")
    for name, figures_json, path in FAULT_FIGURES:
        terminalreporter.write_line(f"{name} {figures_json}")
        terminalreporter.write_line(f"  (kept in {path})")


@dataclass(frozen=True)
class ServiceInfo:
    module: str
    prefix: str
    env_prefix: str


SERVICES = (
    ServiceInfo("reviews_api", "/reviews", "REVIEWS_"),
    ServiceInfo("drp_api", "/drp", "DRP_"),
    ServiceInfo("scorecard_api", "/scorecard", "SCORECARD_"),
)


@dataclass
class RunningService:
    info: ServiceInfo
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill `${NAME}` placeholders as envsubst would; nginx's `$name` variables stay."""

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return re.sub(r"\$\{([A-Z_]+)\}", fill, template)


@pytest.fixture(scope="module")
def running_services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RunningService]]:
    """The three services, each migrated and started alone with `python -m <module> serve`."""
    workdir = tmp_path_factory.mktemp("services")
    admin_url = postgres_admin_url()
    started: dict[str, RunningService] = {}
    databases: list[str] = []
    try:
        for info in SERVICES:
            if admin_url:
                database_url = create_postgres_database(admin_url)
                databases.append(database_url)
            else:
                database_url = f"sqlite+aiosqlite:///{workdir / info.module}.db"
            env = {**os.environ, f"{info.env_prefix}DATABASE_URL": database_url}
            subprocess.run([sys.executable, "-m", info.module, "migrate"], env=env, check=True)
            port = free_port()
            log = workdir / f"{info.module}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", info.module, "serve", "--port", str(port)],
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            started[info.module] = RunningService(info, port, process, log)
        for service in started.values():
            wait_until(f"{service.url}{service.info.prefix}/health/live")
        yield started
    finally:
        for service in started.values():
            service.process.terminate()
        for service in started.values():
            service.process.wait(timeout=10)
        for url in databases:
            drop_postgres_database(admin_url or "", url)


@dataclass
class Gateway:
    url: str
    directory: Path


def _nginx() -> str:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        skip_unless_available("nginx", "needs nginx (apt-get install nginx-light); CI installs it")
    return nginx


@contextmanager
def start_gateway(directory: Path, upstreams: dict[str, str], rate: int = 50) -> Iterator[Gateway]:
    """nginx from deploy/gateway/templates, rendered for loopback, as its own process."""
    nginx = _nginx()
    port = free_port()
    values = {
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_RATE_PER_SECOND": str(rate),
        "GATEWAY_BURST": str(rate),
        "GATEWAY_CONF_DIR": str(directory),
        "GATEWAY_CORS_ALLOW_ORIGINS": "",  # none, as in compose; a test may pass its own
        **upstreams,
    }
    for template in GATEWAY_TEMPLATES.glob("*.template"):
        rendered = render_template(template.read_text(), values)
        (directory / template.name.removesuffix(".template")).write_text(rendered)
    (directory / "nginx.conf").write_text(
        f"""
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
daemon off;
events {{ worker_connections 512; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {directory}/default.conf;
}}
"""
    )
    command = [nginx, "-p", str(directory), "-c", str(directory / "nginx.conf")]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=(directory / "stderr.log").open("wb")
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(f"{url}/nowhere")
        yield Gateway(url, directory)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def gateway(
    running_services: dict[str, RunningService], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    upstreams = {
        f"{info.env_prefix}UPSTREAM": f"127.0.0.1:{running_services[info.module].port}"
        for info in SERVICES
    }
    with start_gateway(tmp_path_factory.mktemp("gateway"), upstreams) as started:
        yield started
