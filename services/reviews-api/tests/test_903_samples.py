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
    # A row is rejected for an error of its own; a warning (a DfE rule on data the service
    # does not use) leaves its row loaded, or held back with its child.
    assert sum(f["rejected"] for f in files.values()) == len(
        {(e["file"], e["line"]) for e in errors if e["line"] and e["severity"] == "error"}
    )
    warnings = sum(1 for e in errors if e["severity"] == "warning")
    assert job["summary"]["problems"]["warnings"] == warnings > 0  # e.g. placements by age


# Each of these children has an unreadable episode (REC without DEC, rule 148) on another line,
# so the rules on a whole child's episodes (431, 388...) are not run for it: the overlap is all
# that is reported on the line.
@pytest.mark.parametrize(
    ("line", "child", "field", "rule", "code", "message"),
    [
        (
            313,
            "708102",
            "DECOM",
            "501",
            "overlapping_episodes",
            "DECOM 11/01/2018 overlaps the episode that started on 11/03/2017 (line 312), "
            "which ends on 10/03/2018.",
        ),
        (  # the episode it overlaps is not the one on the line before
            1460,
            "487446",
            "DECOM",
            "501",
            "overlapping_episodes",
            "DECOM 20/01/2018 overlaps the episode that started on 01/01/2017 (line 1458), "
            "which ends on 31/01/2018.",
        ),
        (  # an open episode with a reason it ended (it had been an overlap, line 523)
            524,
            "128831",
            "REC",
            "148",
            "rec_without_dec",
            "REC 'X1' is given but DEC is blank: an episode that has not ended has no reason "
            "it ended.",
        ),
    ],
)
def test_specific_episode_rows_are_reported_exactly(
    api: TestClient,
    samples: Path,
    line: int,
    child: str,
    field: str,
    rule: str,
    code: str,
    message: str,
) -> None:
    job = run_import(api, samples / "csc-validator-be-903")

    found = [e for e in errors_of(api, job, child=child, file="episodes.csv") if e["line"] == line]

    assert found == [
        {
            "file": "episodes.csv",
            "line": line,
            "child": child,
            "field": field,
            "severity": "error",
            "dfe_rule": rule,
            "code": code,
            "message": message,
        }
    ]


def test_specific_review_rows_are_reported_exactly(api: TestClient, samples: Path) -> None:
    job = run_import(api, samples / "csc-validator-be-903")

    def reported(child: str) -> dict[int, tuple[str, str]]:
        errors = errors_of(api, job, child=child, file="reviews.csv")
        return {e["line"]: (e["field"], e["code"]) for e in errors}

    # The samples are read as the 2017/18 return (the latest DECOM is in it).
    assert job["collection_year"] == "2017/18"
    # 710229, born 15/04/2002, looked after 01/06/2015-15/02/2018: PN0 at 13, nothing else.
    assert reported("710229") == {25: ("REVIEW_CODE", "participation_code_age")}
    # 709901's reviews are all from 2019 on: after the collection year, whatever their codes
    # (PN0 at 7 and 8 on lines 17 and 18).
    assert reported("709901") == {
        line: ("REVIEW", "after_collection_year") for line in range(16, 22)
    }
    [after] = [e for e in errors_of(api, job, child="709901") if e["line"] == 17]
    assert (after["severity"], after["dfe_rule"], after["message"]) == (
        "error",
        None,
        "REVIEW 26/02/2020 is after the end of the 2017/18 collection year (31/03/2018).",
    )
    # 733831, born 06/07/2013, has no episode: PN5 at 2, then reviews outside care.
    child_733831 = reported("733831")
    assert child_733831[26] == ("REVIEW_CODE", "participation_code_age")
    assert child_733831[27] == ("REVIEW", "review_outside_care")
    # 621209 has two reviews on 22/06/2016.
    assert reported("621209") == {3835: ("REVIEW", "duplicate_review")}
    message = errors_of(api, job, child="621209", code="duplicate_review")[0]["message"]
    assert message == "Child 621209 already has a review on 22/06/2016 (line 3834)."


def test_a_child_without_problems_is_loaded_with_its_reviews_assessed(
    api: TestClient, samples: Path
) -> None:
    # 10301, the child this test used to load, is now held back: its open episode has a reason
    # it ended (DfE rule 148) and its reviews from April 2018 on are after the 2017/18 year.
    job = run_import(api, samples / "csc-validator-be-903")
    assert {e["code"] for e in errors_of(api, job, child="10301")} == {
        "rec_without_dec",
        "after_collection_year",
    }

    found = api.get(f"{V1}/children", params={"external_id": "659560"}, headers=IRO).json()
    child = found["items"][0]
    assert (child["date_of_birth"], child["sex"]) == ("2001-03-22", "male")
    episodes = api.get(f"{V1}/children/{child['id']}/episodes", headers=IRO).json()
    assert [
        (e["start_on"], e["end_on"], e["legal_status"], e["reason_ended"]) for e in episodes
    ] == [("2015-08-06", "2017-07-11", "V2", "E47")]
    reviews = api.get(f"{V1}/children/{child['id']}/reviews", headers=IRO).json()
    assert len(reviews) == 4
    first = reviews[0]
    # Held 09/03/2016, long after 20 working days from 06/08/2015 (due 04/09/2015, the 31 August
    # bank holiday not counted).
    assert (first["sequence"], first["due_by"], first["in_timescale"]) == (
        "first",
        "2015-09-04",
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
    # Lines 2 and 4 overlap; lines 3, 4 and 6 break the DfE's episode rules (388, 364, 365...)
    # too: every row but line 5 has a problem of its own, and no child has a Header row.
    assert rows == {"rows": 28, "loaded": 0, "rejected": 4, "held_back": 1, "ignored": 23}
