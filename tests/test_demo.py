"""The demo authority of the one-command run: when it loads, and when it does not.

`make run` from a fresh clone loads it (tests/test_fresh_clone.py checks the worklists, the
scorecard and the IROs within a minute); here, the conditions that keep it out: `IRO_DEMO=off`,
any service outside development, and databases that already hold data, and an empty start
served for real.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from iro_kit.testing import bearer
from iro_local import demo

from .conftest import SERVICES, free_port, wait_until


@pytest.fixture
def empty_databases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    urls = {}
    for info in SERVICES:
        url = f"sqlite+aiosqlite:///{tmp_path / info.module}.db"
        monkeypatch.setenv(f"{info.env_prefix}DATABASE_URL", url)
        monkeypatch.setenv(f"{info.env_prefix}ENVIRONMENT", "development")
        urls[info.module] = url
    from iro_local.cli import migrate

    migrate()
    monkeypatch.delenv("IRO_DEMO", raising=False)
    return urls


def test_an_empty_development_system_loads_the_demo(empty_databases: dict[str, str]) -> None:
    assert demo.reason_not_to_load() is None


@pytest.mark.parametrize("value", ["off", "0", "false", "NO", " Off "])
def test_iro_demo_off_starts_empty(
    empty_databases: dict[str, str], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("IRO_DEMO", value)
    assert demo.reason_not_to_load() == "IRO_DEMO is off"


def test_never_outside_development(
    empty_databases: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRP_ENVIRONMENT", "production")
    monkeypatch.setenv("DRP_JWT_JWKS_URL", "https://login.example/jwks")
    reason = demo.reason_not_to_load()
    assert reason == "not every service is in the development environment"


@pytest.mark.parametrize("table", ["child", "iro"])
def test_never_into_databases_that_hold_data(empty_databases: dict[str, str], table: str) -> None:
    import sqlite3

    path = empty_databases["reviews_api"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(path) as connection:
        if table == "iro":
            connection.execute(
                "INSERT INTO iro (id, name, email, fte, in_post_from, version, created_at, "
                "updated_at) VALUES ('a', 'A', 'a@x.example', 1, '2020-01-01', 1, "
                "'2020-01-01', '2020-01-01')"
            )
        else:
            connection.execute(
                "INSERT INTO child (id, external_id, given_name, family_name, date_of_birth, "
                "sex, version, created_at, updated_at) VALUES ('c', 'X', 'A', 'B', "
                "'2015-01-01', 'female', 1, '2020-01-01', '2020-01-01')"
            )
    assert demo.reason_not_to_load() == "the databases already hold data"


def test_the_demo_command_is_the_seeded_authority_of_today() -> None:
    command = demo.command("http://127.0.0.1:8000", demo.date(2026, 12, 4))
    assert command[1:4] == ["-m", "iro_synthetic", "load"]
    assert command[command.index("--seed") + 1] == str(demo.SEED)
    assert command[command.index("--end") + 1] == "2026-12-04"


def test_served_with_iro_demo_off_the_system_stays_empty(
    empty_databases: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IRO_DEMO", "off")
    port = free_port()
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "iro_local.cli", "serve", "--port", str(port)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(f"{base}/drp/health/ready", timeout=60)
        time.sleep(3)  # a demo would have started by now
        children = httpx.get(
            f"{base}/reviews/v1/children", params={"count": "true"}, headers=bearer("iro_manager")
        )
        assert children.status_code == 200
        assert children.json()["total"] == 0
        assert "demo: no demo data loaded (IRO_DEMO is off)" in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=20)
