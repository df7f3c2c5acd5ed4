"""At start, the schedule rules are checked (and stored chains recomputed) before an import
job of a process that died resumes: a resumed job's chunk holds SQLite's write lock for
seconds, and the check, waiting behind it past busy_timeout, failed the start (seen in CI's
tests/test_fault_import_kill.py: "database is locked" at BEGIN IMMEDIATE, then "Application
startup failed")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import reviews_api.app as reviews_app
from iro_kit.migrations import upgrade_to_head
from reviews_api.app import SPEC, create_app
from reviews_api.settings import Settings


def test_rules_are_checked_before_imports_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reviews.db'}"
    upgrade_to_head(SPEC.script_location, url)
    order: list[str] = []

    async def rules_checked(*_: Any) -> None:
        order.append("rules checked")

    @asynccontextmanager
    async def imports(_: FastAPI) -> AsyncIterator[None]:
        order.append("imports resumed")
        yield
        order.append("imports stopped")

    monkeypatch.setattr(reviews_app, "recompute_if_changed", rules_checked)
    monkeypatch.setattr(reviews_app, "imports_lifecycle", imports)
    app = create_app(Settings(environment="development", database_url=url))
    with TestClient(app) as client:
        assert client.get("/reviews/health/live").status_code == 200
        assert order == ["rules checked", "imports resumed"]
    assert order == ["rules checked", "imports resumed", "imports stopped"]
