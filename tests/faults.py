"""A bounded harness for fault tests: a PostgreSQL cluster of their own, the three services as
real processes behind nginx, a mixed load through the gateway, and the figures it produced.

The cluster is the test's own (initdb into a temporary folder, a free port, run as `postgres`)
because the tests restart it; the shared server of `IRO_TEST_POSTGRES_URL` is never touched.
Services and the gateway are started with iro_local.topology (through tests/conftest.py).

Figures are printed and written as JSON to `$IRO_FAULT_FIGURES_DIR/<test>.json` when that is set
(CI can keep it as an artifact), else to the test's temporary folder: a run never dirties the
working tree. The path is printed with the figures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from iro_kit.testing import POSTGRES_ENV, postgres_admin_url, skip_unless_available
from iro_local.topology import Topology

from .conftest import SERVICES, Gateway, RunningService, free_port, show_figures, start_gateway

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/bin")
PG_FLAGS = (
    # fsync off: the tests kill PostgreSQL, never the machine, so the OS cache survives.
    # synchronous_commit stays on: an acknowledged commit must survive `-m immediate`.
    "-c fsync=off -c full_page_writes=off -c max_connections=200 -c listen_addresses=127.0.0.1"
)


def require_fault_environment() -> None:
    """Skip (or fail, when required) unless this is the PostgreSQL pass with the tools."""
    if postgres_admin_url() is None:
        pytest.skip(
            f"fault tests run on the PostgreSQL pass only ({POSTGRES_ENV} set): they restart and "
            "load a PostgreSQL cluster of their own, the deployed database; a SQLite file has no "
            "server to restart and is not what production runs under load"
        )
    if _pg_bin() is None:
        skip_unless_available("postgres", "needs PostgreSQL server binaries (initdb, pg_ctl)")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        skip_unless_available("nginx", "needs nginx (apt-get install nginx-light); CI installs it")


def _pg_bin() -> Path | None:
    for candidate in PG_BIN_CANDIDATES:
        if (Path(candidate) / "pg_ctl").exists() and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


@dataclass
class Cluster:
    """A PostgreSQL cluster this test owns and may restart."""

    directory: Path
    port: int
    bindir: Path

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(map(_quote, command))]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} {args[1]} failed: {done.stdout}{done.stderr}")

    def pg_ctl(self, action: str, *extra: str) -> float:
        """Run `pg_ctl <action>` and wait for it; returns how long it took."""
        started = time.monotonic()
        options = f"-p {self.port} -k /tmp {PG_FLAGS}"
        self._run(
            "pg_ctl", action, "-D", str(self.directory / "data"), "-l",
            str(self.directory / "postgres.log"), "-o", options, "-w", "-t", "60", *extra,
        )  # fmt: skip
        return time.monotonic() - started

    def create_database(self, name: str) -> str:
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name)
        return self.database_url(name)


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\\''") + "'"


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """A fresh cluster under /tmp (pytest's folders are private to root, not to `postgres`)."""
    bindir = _pg_bin()
    assert bindir is not None
    directory = Path(tempfile.mkdtemp(prefix="iro-fault-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    cluster = Cluster(directory, free_port(), bindir)
    try:
        cluster._run("initdb", "-D", str(directory / "data"), "-A", "trust", "-U", "postgres")
        cluster.pg_ctl("start")
        try:
            yield cluster
        finally:
            cluster.pg_ctl("stop", "-m", "immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def fault_services(
    workdir: Path, cluster: Cluster, extra_env: dict[str, str] | None = None
) -> Iterator[dict[str, RunningService]]:
    """The three services on the cluster, each migrated and started with `python -m ... serve`."""
    topology = Topology(
        workdir,
        {info.module: cluster.create_database(info.module) for info in SERVICES},
        extra_env={
            **{f"{info.env_prefix}SHUTDOWN_GRACE_SECONDS": "5" for info in SERVICES},
            **(extra_env or {}),
        },
    )
    topology.migrate(parallel=True, timeout=300)
    try:
        for info in SERVICES:
            topology.serve(info.module, wait=None)
        for info in SERVICES:
            topology.wait_healthy(info.module, "ready", timeout=60)
        yield topology.services
    finally:
        topology.stop_all(timeout=30, escalate=False)


@contextmanager
def fault_topology(workdir: Path) -> Iterator[tuple[Cluster, dict[str, RunningService], Gateway]]:
    """Cluster, services and gateway (rate limit out of the way), torn down in reverse."""
    with ExitStack() as stack:
        cluster = stack.enter_context(postgres_cluster())
        services = stack.enter_context(fault_services(workdir, cluster))
        upstreams = {
            f"{info.env_prefix}UPSTREAM": f"127.0.0.1:{services[info.module].port}"
            for info in SERVICES
        }
        gateway_dir = workdir / "gateway"
        gateway_dir.mkdir()
        gateway = stack.enter_context(start_gateway(gateway_dir, upstreams, rate=5000))
        yield cluster, services, gateway


def rss_mib(pid: int) -> float:
    """Resident memory of a process, from /proc/<pid>/status (VmRSS, in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


def rss_of(services: dict[str, RunningService]) -> dict[str, float]:
    return {name: rss_mib(service.process.pid) for name, service in services.items()}


@dataclass
class Figures:
    test: str
    duration_seconds: float
    requests: int
    by_status: dict[str, int]
    by_operation: dict[str, int]
    p50_ms: float
    p95_ms: float
    max_ms: float
    achieved_rate_per_second: float
    rss_mib: dict[str, dict[str, float]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def write(self, fallback_dir: Path) -> Path:
        directory = Path(os.environ.get("IRO_FAULT_FIGURES_DIR") or fallback_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.test}.json"
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        show_figures(self.test, json.dumps(asdict(self), sort_keys=True), path)
        return path


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summarise(test: str, records: list[Any], duration: float, **extra: Any) -> Figures:
    latencies = [r.latency * 1000 for r in records]
    return Figures(
        test=test,
        duration_seconds=round(duration, 1),
        requests=len(records),
        by_status=dict(sorted(Counter(str(r.status) for r in records).items())),
        by_operation=dict(sorted(Counter(r.operation for r in records).items())),
        p50_ms=round(percentile(latencies, 0.50), 1),
        p95_ms=round(percentile(latencies, 0.95), 1),
        max_ms=round(max(latencies, default=0.0), 1),
        achieved_rate_per_second=round(len(records) / duration, 1) if duration else 0.0,
        extra=extra,
    )


def readiness(gateway: Gateway) -> dict[str, int]:
    """Each service's health/ready status through the gateway (0: no answer)."""
    statuses = {}
    for info in SERVICES:
        try:
            statuses[info.module] = httpx.get(
                f"{gateway.url}{info.prefix}/health/ready", timeout=10
            ).status_code
        except httpx.HTTPError:
            statuses[info.module] = 0
    return statuses
