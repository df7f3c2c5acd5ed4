"""Cross-service fixtures: the three services as real processes on loopback, and nginx.

The processes are started by iro_local.topology, shared with the benchmarks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

from iro_kit.testing import postgres_admin_url, skip_unless_available
from iro_local.topology import (
    GATEWAY_TEMPLATES,
    SERVICES,
    Gateway,
    NginxMissing,
    RunningService,
    ServiceInfo,
    Topology,
    create_databases,
    drop_databases,
    find_nginx,
    free_port,
    render_template,
    wait_until,
)
from iro_local.topology import start_gateway as topology_start_gateway

# Re-exported for the tests: `from .conftest import SERVICES, free_port, wait_until`.
__all__ = [
    "GATEWAY_TEMPLATES",
    "SERVICES",
    "Gateway",
    "RunningService",
    "ServiceInfo",
    "free_port",
    "render_template",
    "start_gateway",
    "wait_until",
]

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.fixture(scope="module")
def running_services(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, RunningService]]:
    """The three services, each migrated and started alone with `python -m <module> serve`."""
    workdir = tmp_path_factory.mktemp("services")
    admin_url = postgres_admin_url()
    urls = create_databases([info.module for info in SERVICES], admin_url, workdir)
    topology = Topology(workdir, urls)
    try:
        topology.migrate()
        for info in SERVICES:
            topology.serve(info.module, wait=None)
        for info in SERVICES:
            topology.wait_healthy(info.module, "live")
        yield topology.services
    finally:
        topology.stop_all(timeout=10, escalate=False)
        drop_databases(admin_url, urls.values())


def start_gateway(
    directory: Path, upstreams: dict[str, str], rate: int = 50
) -> AbstractContextManager[Gateway]:
    """nginx from deploy/gateway/templates (iro_local.topology); skipped when nginx is missing."""
    try:
        find_nginx()
    except NginxMissing as missing:
        skip_unless_available("nginx", str(missing))
    return topology_start_gateway(directory, upstreams, rate)


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
