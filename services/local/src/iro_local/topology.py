"""The reviews -> relay -> drp (-> scorecard) topology as real processes on loopback.

One place that starts the services (`python -m <module> serve`), their outbox relays
(`python -m <module> relay`) and nginx from deploy/gateway/templates, shared by the end-to-end
tests, the fault tests and the benchmarks. It never imports pytest: the tests turn
`NginxMissing` into their skip.
"""

# ruff: noqa: S603 -- every command is sys.executable, a service module or nginx; no shell

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from iro_kit.migrations import upgrade_to_head

from .cli import REVIEWS_EVENT_TYPES

ROOT = Path(__file__).resolve().parents[4]
GATEWAY_TEMPLATES = ROOT / "deploy" / "gateway" / "templates"
HOST = "127.0.0.1"

# The relays' retry tuning of the end-to-end tests: quick retries, nothing dead-lettered.
RELAY_TUNING: dict[str, str] = {
    "RELAY_BACKOFF_BASE_SECONDS": "0.05",
    "RELAY_BACKOFF_CAP_SECONDS": "0.5",
    "RELAY_MAX_ATTEMPTS": "1000",
}


@dataclass(frozen=True)
class ServiceInfo:
    module: str
    prefix: str
    env_prefix: str

    @property
    def name(self) -> str:
        """The service's name as a subscriber or producer: `reviews-api`."""
        return self.module.replace("_", "-")


SERVICES = (
    ServiceInfo("reviews_api", "/reviews", "REVIEWS_"),
    ServiceInfo("drp_api", "/drp", "DRP_"),
    ServiceInfo("scorecard_api", "/scorecard", "SCORECARD_"),
)
_BY_MODULE = {info.module: info for info in SERVICES}


def service_info(module: str) -> ServiceInfo:
    return _BY_MODULE[module]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(url: str, timeout: float = 30.0) -> None:
    """Poll `url` until it answers below 500; TimeoutError after `timeout` seconds."""
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


# --- databases -------------------------------------------------------------------------------


def create_databases(
    modules: Sequence[str], admin_url: str | None, workdir: Path | None = None
) -> dict[str, str]:
    """An empty database per module: on PostgreSQL when `admin_url` is given, else a SQLite
    file `<workdir>/<module>.db`."""
    if admin_url:
        from iro_kit.testing import create_postgres_database  # imported here: it loads pytest

        return {module: create_postgres_database(admin_url) for module in modules}
    if workdir is None:
        raise ValueError("SQLite databases need a workdir")
    return {module: f"sqlite+aiosqlite:///{workdir / module}.db" for module in modules}


def drop_databases(admin_url: str | None, urls: Iterable[str]) -> None:
    """Drop the PostgreSQL databases among `urls` (SQLite files go with their folder)."""
    from iro_kit.testing import drop_postgres_database  # imported here: it loads pytest

    for url in urls:
        if admin_url and not url.startswith("sqlite"):
            drop_postgres_database(admin_url, url)


def upgrade_databases(database_urls: Mapping[str, str]) -> None:
    """Migrate each module's database to head, in this process."""
    for module, url in database_urls.items():
        spec = importlib.import_module(f"{module}.app").SPEC
        upgrade_to_head(spec.script_location, url)


# --- the processes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Events of `types` from `producer`'s outbox to `consumer`'s inbox (modules)."""

    producer: str
    consumer: str
    types: tuple[str, ...]


@dataclass
class RunningService:
    info: ServiceInfo
    port: int
    process: subprocess.Popen[bytes]
    log: Path | None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text() if self.log else ""


class Topology:
    """Some of the services on loopback, each on its own database, sharing one environment.

    `database_urls` names the services it holds (by module); each gets a free port. `routes`
    become each producer's `<PREFIX>EVENT_ROUTES` (consumer URLs from those ports), and every
    producer with routes gets `relay_env` (suffixes, e.g. RELAY_TUNING) and, unless None,
    `<PREFIX>RELAY_IN_PROCESS`. With `producer_urls`, SCORECARD_PRODUCER_URLS names the
    producers held. `extra_env` comes last. Logs go to `<workdir>/<module>-<command>.log`
    (appended), or nowhere when `workdir` is None.
    """

    def __init__(
        self,
        workdir: Path | None,
        database_urls: Mapping[str, str],
        *,
        routes: Sequence[Route] = (),
        relay_env: Mapping[str, str] | None = None,
        relay_in_process: bool | None = None,
        producer_urls: bool = False,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.database_urls = dict(database_urls)
        self.routes = list(routes)
        self.relay_env = dict(relay_env or {})
        self.relay_in_process = relay_in_process
        self.producer_urls = producer_urls
        self.extra_env = dict(extra_env or {})
        self.ports = {module: free_port() for module in self.database_urls}
        self.services: dict[str, RunningService] = {}  # the latest `serve` of each module
        self.relays: list[subprocess.Popen[bytes]] = []
        self.processes: list[subprocess.Popen[bytes]] = []  # everything started, in order

    @classmethod
    def scorecard(cls, workdir: Path | None, database_urls: Mapping[str, str]) -> Topology:
        """All three services with the relays as processes of their own: reviews-api to
        drp-api and scorecard-api, drp-api's disputes to scorecard-api."""
        return cls(
            workdir,
            database_urls,
            routes=[
                Route("reviews_api", "drp_api", ("child.changed", "iro.changed")),
                Route("reviews_api", "scorecard_api", tuple(REVIEWS_EVENT_TYPES)),
                Route("drp_api", "scorecard_api", ("dispute.changed",)),
            ],
            relay_env={"RELAY_POLL_SECONDS": "0.05", **RELAY_TUNING},
            relay_in_process=False,
            producer_urls=True,
        )

    # --- addresses and environment ---

    def url(self, module: str) -> str:
        return f"http://{HOST}:{self.ports[module]}"

    def base(self, module: str) -> str:
        """Where the service serves, its prefix included: http://127.0.0.1:<port>/drp."""
        return f"{self.url(module)}{service_info(module).prefix}"

    def inbox(self, module: str) -> str:
        return f"{self.base(module)}/events"

    def event_routes(self, producer: str) -> list[dict[str, object]]:
        return [
            {
                "subscriber": service_info(route.consumer).name,
                "url": self.inbox(route.consumer),
                "types": list(route.types),
            }
            for route in self.routes
            if route.producer == producer
        ]

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for module, url in self.database_urls.items():
            env[f"{service_info(module).env_prefix}DATABASE_URL"] = url
        producers = list(dict.fromkeys(route.producer for route in self.routes))
        for producer in producers:
            prefix = service_info(producer).env_prefix
            env[f"{prefix}EVENT_ROUTES"] = json.dumps(self.event_routes(producer))
        if self.producer_urls:
            env["SCORECARD_PRODUCER_URLS"] = json.dumps(
                {
                    service_info(module).name: self.base(module)
                    for module in ("reviews_api", "drp_api")
                    if module in self.database_urls
                }
            )
        for producer in producers:
            prefix = service_info(producer).env_prefix
            if self.relay_in_process is not None:
                env[f"{prefix}RELAY_IN_PROCESS"] = str(self.relay_in_process).lower()
            env.update({f"{prefix}{name}": value for name, value in self.relay_env.items()})
        env.update(self.extra_env)
        return env

    # --- starting ---

    def migrate(self, *, parallel: bool = False, timeout: float = 300) -> None:
        """`python -m <module> migrate` for every service held."""
        command = [[sys.executable, "-m", module, "migrate"] for module in self.database_urls]
        if not parallel:
            for args in command:
                subprocess.run(args, env=self.env(), check=True, timeout=timeout)
            return
        running = [subprocess.Popen(args, env=self.env()) for args in command]
        codes = [process.wait(timeout=timeout) for process in running]
        if codes != [0] * len(codes):
            failed = dict(zip(self.database_urls, codes, strict=True))
            raise RuntimeError(f"migrations failed: {failed}")

    def spawn(self, module: str, *args: str) -> tuple[subprocess.Popen[bytes], Path | None]:
        """`python -m <module> <args>`, logging to `<workdir>/<module>-<args[0]>.log`."""
        log = self.workdir / f"{module}-{args[0]}.log" if self.workdir else None
        output = log.open("ab") if log else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                env=self.env(),
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        finally:
            if log:
                output.close()  # type: ignore[union-attr]
        self.processes.append(process)
        return process, log

    def serve(
        self, module: str, *, wait: str | None = "live", timeout: float = 30.0
    ) -> RunningService:
        """Start the service on its port; wait for `/health/<wait>` unless `wait` is None."""
        process, log = self.spawn(module, "serve", "--port", str(self.ports[module]))
        running = RunningService(service_info(module), self.ports[module], process, log)
        self.services[module] = running
        if wait:
            self.wait_healthy(module, wait, timeout)
        return running

    def relay(self, producer: str) -> subprocess.Popen[bytes]:
        """Start `producer`'s outbox relay as a process of its own."""
        process, _log = self.spawn(producer, "relay")
        self.relays.append(process)
        return process

    def wait_healthy(self, module: str, probe: str = "live", timeout: float = 30.0) -> None:
        wait_until(f"{self.base(module)}/health/{probe}", timeout=timeout)

    # --- stopping ---

    def stop(
        self,
        process: subprocess.Popen[bytes],
        timeout: float = 10.0,
        *,
        escalate: bool = True,
    ) -> None:
        """SIGTERM and wait; SIGKILL after `timeout` when `escalate`, else TimeoutExpired."""
        if process.poll() is None:
            process.terminate()
        self._wait(process, timeout, escalate)

    def kill(self, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=timeout)

    def stop_all(self, timeout: float = 10.0, *, escalate: bool = True, kill: bool = False) -> None:
        """Signal every live process (SIGKILL with `kill`, else SIGTERM), then wait for each."""
        for process in self.processes:
            if process.poll() is None:
                if kill:
                    process.kill()
                else:
                    process.terminate()
        for process in self.processes:
            self._wait(process, timeout, escalate)

    @staticmethod
    def _wait(process: subprocess.Popen[bytes], timeout: float, escalate: bool) -> None:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if not escalate:
                raise
            process.kill()
            process.wait(timeout=timeout)

    def logs(self, tail: int = 3000) -> str:
        """The end of every log in the workdir, for a failure message."""
        if self.workdir is None:
            return ""
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-tail:]}"
            for log in sorted(self.workdir.glob("*.log"))
        )


# --- the gateway -----------------------------------------------------------------------------


class NginxMissing(RuntimeError):
    """nginx is not installed (apt-get install nginx-light)."""


@dataclass
class Gateway:
    url: str
    directory: Path


def find_nginx() -> str:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise NginxMissing("needs nginx (apt-get install nginx-light); CI installs it")
    return nginx


@contextmanager
def start_gateway(directory: Path, upstreams: dict[str, str], rate: int = 50) -> Iterator[Gateway]:
    """nginx from deploy/gateway/templates, rendered for loopback, as its own process."""
    nginx = find_nginx()
    port = free_port()
    values = {
        "GATEWAY_LISTEN": f"{HOST}:{port}",
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
    # Workers may not reach a private temporary folder: keep request bodies (a batch of a
    # thousand items, a 903 upload) in memory up to the size deploy/gateway allows.
    client_body_buffer_size 64m;
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
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed: {check.stderr}")
    with (directory / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://{HOST}:{port}"
    try:
        wait_until(f"{url}/nowhere")
        yield Gateway(url, directory)
    finally:
        process.terminate()
        process.wait(timeout=10)
