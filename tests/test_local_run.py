"""The embedded local run: three services in one process, migrations and dev tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from iro_local.cli import main as iro
from iro_local.combined import create_combined_app

from .conftest import SERVICES


@pytest.fixture
def local_databases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for info in SERVICES:
        url = f"sqlite+aiosqlite:///{tmp_path / 'var' / info.module}.db"
        monkeypatch.setenv(f"{info.env_prefix}DATABASE_URL", url)
    return tmp_path / "var"


def test_migrate_creates_three_sqlite_databases(local_databases: Path) -> None:
    iro(["migrate"])
    assert sorted(p.name for p in local_databases.glob("*.db")) == [
        "drp_api.db",
        "reviews_api.db",
        "scorecard_api.db",
    ]


def test_one_process_serves_all_three_prefixes(local_databases: Path) -> None:
    iro(["migrate"])
    token = subprocess.run(
        [sys.executable, "-m", "iro_local.cli", "token", "--role", "iro_manager"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with TestClient(create_combined_app()) as client:
        for info in SERVICES:
            assert client.get(f"{info.prefix}/health/live").status_code == 200
            assert client.get(f"{info.prefix}/health/ready").status_code == 200
            assert client.get(f"{info.prefix}/docs").status_code == 200
            me = client.get(f"{info.prefix}/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["roles"] == ["iro_manager"]
        unknown = client.get("/elsewhere")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        assert "/reviews/docs" in unknown.json()["detail"]
        assert len(unknown.headers["x-request-id"]) == 32
        assert client.get("/reviewsx/health/live").status_code == 404


def test_token_command_refuses_unknown_roles(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        iro(["token", "--role", "superuser"])
    assert "invalid choice" in capsys.readouterr().err


def test_the_local_run_routes_events_to_where_it_listens() -> None:
    from iro_local.cli import local_event_routes

    assert "http://127.0.0.1:8000/drp/events" in local_event_routes("0.0.0.0", 8000)  # noqa: S104
    assert "http://10.1.2.3:9000/drp/events" in local_event_routes("10.1.2.3", 9000)


@pytest.mark.parametrize("silent", [True, False])
def test_make_token_prints_only_the_token(silent: bool) -> None:
    """`TOKEN=$(make -s token ROLE=iro)` (the README's) captures a JWT and nothing else."""
    import shutil

    if shutil.which("make") is None:
        pytest.skip("needs make")
    args = ["make", *(["-s"] if silent else []), "token", "ROLE=iro"]
    root = Path(__file__).resolve().parents[1]
    # As from a newcomer's shell, not from inside `make test` (a nested make announces the
    # directories it enters).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    out = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert len(lines) == 1, out
    assert lines[0].count(".") == 2 and lines[0].startswith("eyJ"), out
