"""`python -m reviews_api import-903 FOLDER`: the data officers' command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iro_kit.migrations import upgrade_to_head
from reviews_api.app import SPEC
from reviews_api.imports import cli

from .conftest import IRO, SUPPORT
from .imports import DATA

V1 = "/reviews/v1"


class _Borrowed:
    """The test client in place of the command's own HTTP client (a running service)."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        client.headers.update(headers)

    def __enter__(self) -> TestClient:
        return self.client

    def __exit__(self, *exc: object) -> None:
        return None


def test_import_into_a_running_service(
    api: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    monkeypatch.setattr(cli.httpx, "Client", lambda **kw: _Borrowed(api, kw["headers"]))
    token = SUPPORT["Authorization"].removeprefix("Bearer ")
    errors = tmp_path / "errors.csv"

    code = cli.main(
        [
            str(DATA / "year1"),
            "--url",
            "http://reviews",
            "--token",
            token,
            "--errors-csv",
            str(errors),
        ]
    )

    assert code == 0
    assert '"status": "finished"' in capsys.readouterr().out
    assert errors.read_text().splitlines()[1].startswith("episodes.csv,6,C3,DEC,")
    found = api.get(f"{V1}/children", params={"external_id": "A1"}, headers=IRO).json()
    assert len(found["items"]) == 1


def test_import_straight_into_the_database(database_url: str, tmp_path: Path) -> None:
    upgrade_to_head(SPEC.script_location, database_url)
    errors = tmp_path / "errors.csv"

    code = cli.main(
        [str(DATA / "year1"), "--database-url", database_url, "--errors-csv", str(errors)]
    )

    assert code == 0
    assert len(errors.read_text().splitlines()) == 4  # the column names and 3 problems
    assert cli.main([str(DATA / "year1"), "--database-url", database_url]) == 0


def test_the_command_is_reached_through_the_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reviews_api", "import-903", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "--database-url" in result.stdout


def test_a_folder_without_csv_files_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        cli.main([str(tmp_path), "--database-url", "sqlite+aiosqlite:///unused.db"])
