"""Uploading SSDA903 files and waiting for the import job, shared by the import tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from .conftest import SUPPORT

IMPORTS = "/reviews/v1/imports"
DATA = Path(__file__).parent / "data" / "ssda903"


def files_of(folder: Path) -> list[tuple[str, tuple[str, bytes, str]]]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv")
    return [("files", (p.name, p.read_bytes(), "text/csv")) for p in paths]


def upload(
    api: TestClient,
    files: list[tuple[str, tuple[str, bytes, str]]],
    headers: dict[str, str] = SUPPORT,
    **form: str,
) -> Any:
    return api.post(f"{IMPORTS}/ssda903", files=files, data=form, headers=headers)


def wait_for(api: TestClient, location: str, seconds: float = 60) -> dict[str, Any]:
    """Poll the job until it is finished or failed (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        job = api.get(location, headers=SUPPORT).json()
        if job["status"] in {"finished", "failed"}:
            return job
        assert time.monotonic() < deadline, f"import still {job['status']}: {job['progress']}"
        time.sleep(0.05)


def run_import(api: TestClient, folder: Path, **form: str) -> dict[str, Any]:
    response = upload(api, files_of(folder), **form)
    assert response.status_code == 202, response.text
    job = wait_for(api, response.headers["Location"])
    assert job["status"] == "finished", job
    return job


def errors_of(api: TestClient, job: dict[str, Any], **filters: Any) -> list[dict[str, Any]]:
    response = api.get(job["links"]["errors"], params={"limit": 500, **filters}, headers=SUPPORT)
    assert response.status_code == 200, response.text
    return response.json()["items"]
