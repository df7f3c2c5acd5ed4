"""The public fake SSDA903 files (../shared/903-samples, MIT) import without a crash.

Their values are random and break many rules: every row must still end up counted as loaded,
rejected, held back or ignored, and the rows below must be reported exactly as written here.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iro_kit.testing import skip_unless_available

from .conftest import IRO, SUPPORT
from .imports import errors_of, run_import

SAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "903-samples"
V1 = "/reviews/v1"


@pytest.fixture
def samples() -> Path:
    if not (SAMPLES / "csc-validator-be-903" / "header.csv").is_file():
        skip_unless_available("903-samples", f"needs the public fake 903 files in {SAMPLES}")
    return SAMPLES


def _data_rows(content: bytes) -> int:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
    return sum(1 for row in rows[1:] if any(cell.strip() for cell in row))


def _all_errors(api: TestClient, job: dict[str, Any]) -> list[dict[str, Any]]:
    errors, cursor = [], None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = api.get(job["links"]["errors"], params=params, headers=SUPPORT)
        assert page.status_code == 200, page.text
        errors += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return errors


def test_the_fake_files_import_and_every_row_is_counted(api: TestClient, samples: Path) -> None:
    folder = samples / "csc-validator-be-903"

    job = run_import(api, folder)

    expected = {p.name: _data_rows(p.read_bytes()) for p in folder.glob("*.csv")}
    files = {f["name"]: f for f in job["files"]}
    assert {name: f["rows"] for name, f in files.items()} == expected
    for f in files.values():
        assert f["loaded"] + f["rejected"] + f["held_back"] + f["ignored"] == f["rows"], f
    rows = job["summary"]["rows"]
    assert rows["rows"] == sum(expected.values()) == job["progress"]["rows_read"]
    assert rows["loaded"] + rows["rejected"] + rows["held_back"] + rows["ignored"] == rows["rows"]
    assert {n for n, f in files.items() if f["ignored"]} == {
        "DoLo.csv",
        "ad1.csv",
        "missing.csv",
        "oc3.csv",
        "placed_for_adoption.csv",
        "placed_for_adoption_errors.csv",
        "previous_permanence.csv",
        "sw_episodes.csv",  # a byte-order mark and Windows line ends
        "uasc.csv",
    }
    children = job["summary"]["children"]
    assert children["created"] + children["rejected"] == job["progress"]["children_total"] == 2675
    assert children["created"] > 0 and children["rejected"] > 0
    errors = _all_errors(api, job)
    assert len(errors) == job["summary"]["problems"]["total"] == job["progress"]["problems"]
    assert sum(f["rejected"] for f in files.values()) == len(
        {(e["file"], e["line"]) for e in errors if e["line"]}
    )


@pytest.mark.parametrize(
    ("line", "child", "field", "code", "message"),
    [
        (
            313,
            "708102",
            "DECOM",
            "overlapping_episodes",
            "DECOM 11/01/2018 overlaps the episode that started on 11/03/2017 (line 312), "
            "which ends on 10/03/2018.",
        ),
        (
            524,
            "128831",
            "DECOM",
            "overlapping_episodes",
            "DECOM 15/06/2017 overlaps the episode that started on 25/01/2017 (line 523), "
            "which ends on 23/07/2017.",
        ),
    ],
)
def test_specific_episode_rows_are_reported_exactly(
    api: TestClient, samples: Path, line: int, child: str, field: str, code: str, message: str
) -> None:
    job = run_import(api, samples / "csc-validator-be-903")

    found = [e for e in errors_of(api, job, child=child, file="episodes.csv") if e["line"] == line]

    assert found == [
        {
            "file": "episodes.csv",
            "line": line,
            "child": child,
            "field": field,
            "code": code,
            "message": message,
        }
    ]


def test_specific_review_rows_are_reported_exactly(api: TestClient, samples: Path) -> None:
    job = run_import(api, samples / "csc-validator-be-903")

    def reported(child: str) -> dict[int, tuple[str, str]]:
        errors = errors_of(api, job, child=child, file="reviews.csv")
        return {e["line"]: (e["field"], e["code"]) for e in errors}

    # 709901, born 14/02/2013, looked after from 07/04/2016: PN0 at 7 and 8, nothing else.
    assert reported("709901") == {
        17: ("REVIEW_CODE", "participation_code_age"),
        18: ("REVIEW_CODE", "participation_code_age"),
    }
    # 733831, born 06/07/2013, has no episode: PN5 at 2, then reviews outside care.
    child_733831 = reported("733831")
    assert child_733831[26] == ("REVIEW_CODE", "participation_code_age")
    assert child_733831[27] == ("REVIEW", "review_outside_care")
    # 540481 has two reviews on 13/08/2020.
    assert reported("540481")[2825] == ("REVIEW", "duplicate_review")
    message = errors_of(api, job, child="540481", code="duplicate_review")[0]["message"]
    assert message == "Child 540481 already has a review on 13/08/2020 (line 2824)."


def test_a_child_without_problems_is_loaded_with_its_reviews_assessed(
    api: TestClient, samples: Path
) -> None:
    run_import(api, samples / "csc-validator-be-903")

    found = api.get(f"{V1}/children", params={"external_id": "10301"}, headers=IRO).json()
    child = found["items"][0]
    assert (child["date_of_birth"], child["sex"]) == ("2003-01-19", "male")
    episodes = api.get(f"{V1}/children/{child['id']}/episodes", headers=IRO).json()
    assert [(e["start_on"], e["end_on"], e["legal_status"]) for e in episodes] == [
        ("2015-04-15", "2018-03-24", "L1"),
        ("2018-03-24", None, "L1"),  # REC X1 on an open episode is not read
    ]
    reviews = api.get(f"{V1}/children/{child['id']}/reviews", headers=IRO).json()
    assert len(reviews) == 9
    first = reviews[0]
    # Held 22/09/2015, long after 20 working days from 15/04/2015 (due 14/05/2015).
    assert (first["sequence"], first["due_by"], first["in_timescale"]) == (
        "first",
        "2015-05-14",
        False,
    )


def test_the_liia_tools_episodes_files_import_without_a_header(
    api: TestClient, samples: Path
) -> None:
    job = run_import(api, samples / "liia-tools")

    codes = {(e["file"], e["line"], e["code"]) for e in errors_of(api, job)}
    assert (None, None, "missing_header") in codes
    assert ("SSDA903_episodes_for_testing_fixes_INPUT.csv", 1, "duplicate_file") in codes
    assert ("SSDA903_2020_episodes.csv", 2, "overlapping_episodes") in codes
    assert job["summary"]["children"]["created"] == 0
    rows = job["summary"]["rows"]
    assert rows == {"rows": 28, "loaded": 0, "rejected": 2, "held_back": 3, "ignored": 23}
