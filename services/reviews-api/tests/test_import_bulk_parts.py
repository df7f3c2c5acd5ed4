"""A return of more than `ssda903.PART` children is read a part of the Header at a time, so
that what the import holds does not grow with the file; it reads, checks and loads exactly as
one reading of the whole return does. Shown here with parts of a few children."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from reviews_api.imports import ssda903
from reviews_api.imports.files import Upload
from reviews_api.imports.plan import ReadReturn

from . import dfe_903_return as generated
from .imports import DATA
from .test_import_bulk import _import_all, second_database_url  # noqa: F401 (a fixture)


def _uploads(folder: Path) -> list[Upload]:
    return [Upload(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]


def _everything(read: ReadReturn) -> tuple[Any, ...]:
    files = [
        (f.name, f.kind, f.rows, f.blank_lines, f.unknown_columns, f.note, f.used, f.problem_lines)
        for f in read.files
    ]
    children = list(read.children[0 : len(read.children)])
    counts = [dict(f.rows_by_child) for f in read.files]
    return (read.issues, read.rejected_children, files, counts, children, read.year_ending)


@pytest.fixture
def generated_return(tmp_path: Path) -> Path:
    folder = tmp_path / "generated"
    folder.mkdir()
    generated.write_return(folder)
    return folder


@pytest.mark.parametrize("part", [1, 2, 7, 60])
@pytest.mark.parametrize("year_ending", [date(generated.YEAR, 3, 31), None])
def test_a_return_read_in_parts_reads_as_one_reading(
    generated_return: Path, part: int, year_ending: date | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = _uploads(generated_return)
    whole = ssda903.read_return(uploads, generated.TODAY, year_ending)
    assert isinstance(whole.children, list) and len(whole.children) > 200
    monkeypatch.setattr(ssda903, "PART", part)
    parted = ssda903.read_return(_uploads(generated_return), generated.TODAY, year_ending)
    assert isinstance(parted.children, ssda903.PartedChildren)
    assert _everything(parted) == _everything(whole)
    assert parted.year_inferred == whole.year_inferred
    middle = len(whole.children) // 2  # slices across parts, and single children
    assert parted.children[middle - 5 : middle + 5] == whole.children[middle - 5 : middle + 5]
    assert parted.children[-1] == whole.children[-1] and parted.children[3] == whole.children[3]


def test_the_hand_made_returns_read_in_parts_as_one_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for folder in (DATA / "year1", DATA / "year2"):
        whole = ssda903.read_return(_uploads(folder), date(2019, 5, 1))
        with monkeypatch.context() as patched:
            patched.setattr(ssda903, "PART", 1)
            parted = ssda903.read_return(_uploads(folder), date(2019, 5, 1))
        assert isinstance(parted.children, ssda903.PartedChildren)
        assert _everything(parted) == _everything(whole)


def test_an_import_read_in_parts_stores_and_publishes_as_one_reading(
    database_url: str,
    second_database_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    generated_return: Path,
) -> None:
    returns = [(generated_return, {"collection_year": str(generated.YEAR)})]
    monkeypatch.setattr("reviews_api.imports.jobs.CHUNK", 100)
    whole_jobs, whole = _import_all(database_url, returns)
    with monkeypatch.context() as patched:
        patched.setattr(ssda903, "PART", 45)  # parts across the import's chunks, and within
        parted_jobs, parted = _import_all(second_database_url, returns)
    for job in (*whole_jobs, *parted_jobs):
        for error in job["errors"]:
            error.pop("job_id", None)
    assert parted_jobs == whole_jobs
    assert parted == whole
    assert whole_jobs[0]["summary"]["children"]["created"] > 200
