"""Collection years through the API (issue 13): each year's SEX codes, and the job's report.

A return belongs to a collection year (1 April to 31 March, named by the year it ends in: 2025
is 2024/25), named by the upload's `collection_year` or inferred from the latest DECOM. SEX is
1/2 to 2023/24 and M/F/U from 2024/25 (DfE rule 101); U loads with a warning (rule 232).

The hand-made returns below were run through the DfE's validator (csc-validator-be-903 0.1.17,
that year's rules or the nearest it has): it flags nothing in `_return` but the children with
SEX U (rule 232), and SEX codes of the other year.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import IRO, SUPPORT
from .imports import IMPORTS, errors_of, upload, wait_for
from .problems import assert_problem

V1 = "/reviews/v1"
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,"
    "URN\n"
)
REVIEWS = "CHILD,DOB,REVIEW,REVIEW_CODE\n"
Files = list[tuple[str, tuple[str, bytes, str]]]


def _return(ends: int, sexes: list[str], extra_reviews: str = "") -> Files:
    """Children C1, C2... with these SEX codes, each looked after from 1 May of the collection
    year (foster care, open) and reviewed on 29 May, aged 4 or over."""
    born = "15/06/2012" if ends >= 2021 else "15/06/2008"
    header = episodes = reviews = ""
    for n, sex in enumerate(sexes, 1):
        mother = "0" if sex in {"2", "F"} else ""
        header += f"C{n},{sex},{born},WBRI,A{n:012d},{mother},\n"
        episodes += f"C{n},01/05/{ends - 1},S,C2,N1,U1,PR1,,,,SW1A 1AA,SW1A 2AA,SC123456\n"
        reviews += f"C{n},{born},29/05/{ends - 1},PN1\n"
    files = {
        "header.csv": HEADER + header,
        "episodes.csv": EPISODES + episodes,
        "reviews.csv": REVIEWS + reviews + extra_reviews,
    }
    return [("files", (name, text.encode(), "text/csv")) for name, text in files.items()]


def _run(api: TestClient, files: Files, **form: str) -> dict[str, Any]:
    response = upload(api, files, **form)
    assert response.status_code == 202, response.text
    job = wait_for(api, response.headers["Location"])
    assert job["status"] == "finished", job
    return job


def _child(api: TestClient, external_id: str) -> dict[str, Any] | None:
    found = api.get(f"{V1}/children", params={"external_id": external_id}, headers=IRO).json()
    return found["items"][0] if found["items"] else None


def _report(api: TestClient, job: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (e["child"], e["field"], e["severity"], e["dfe_rule"], e["code"], e["message"])
        for e in errors_of(api, job)
    ]


# -- each year's SEX codes ---------------------------------------------------------------


def test_a_2024_25_return_with_sex_m_f_u_loads(api: TestClient) -> None:
    job = _run(api, _return(2025, ["M", "F", "U"]), collection_year="2025")

    assert (job["collection_year"], job["collection_year_inferred"], job["year_ending"]) == (
        "2024/25",
        False,
        "2025-03-31",
    )
    assert job["summary"]["children"] == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert job["summary"]["reviews"] == {"created": 3, "updated": 0}
    # SEX U is a query for the data officer, not an error: the child loads.
    assert _report(api, job) == [
        ("C3", "SEX", "warning", "232", "sex_unknown", "SEX is recorded as unknown (U)."),
    ]
    assert [_child(api, c)["sex"] for c in ("C1", "C2", "C3")] == ["male", "female", "unknown"]


def test_a_child_of_unknown_sex_reads_as_unknown_through_the_api(api: TestClient) -> None:
    _run(api, _return(2025, ["U"]), collection_year="2025")

    listed = api.get(f"{V1}/children", params={"external_id": "C1"}, headers=IRO)

    assert listed.status_code == 200, listed.text
    [child] = listed.json()["items"]
    assert (child["sex"], child["date_of_birth"]) == ("unknown", "2012-06-15")
    read = api.get(f"{V1}/children/{child['id']}", headers=IRO)
    assert read.status_code == 200, read.text
    assert read.json()["sex"] == "unknown"


def test_a_2016_17_return_with_sex_1_2_loads(api: TestClient) -> None:
    job = _run(api, _return(2017, ["1", "2"]), collection_year="2017")

    assert (job["collection_year"], job["collection_year_inferred"], job["year_ending"]) == (
        "2016/17",
        False,
        "2017-03-31",
    )
    assert job["summary"]["children"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert job["summary"]["problems"] == {"total": 0, "warnings": 0, "by_code": {}, "by_rule": []}
    assert [_child(api, c)["sex"] for c in ("C1", "C2")] == ["male", "female"]


def test_a_2016_17_return_with_the_2024_25_codes_is_refused(api: TestClient) -> None:
    job = _run(api, _return(2017, ["M", "F", "U"]), collection_year="2017")

    assert job["summary"]["children"] == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 3}
    expected = "is not a 2016/17 code: the 2016/17 return records SEX as 1 or 2."
    assert _report(api, job) == [
        (child, "SEX", "error", "101", "invalid_code", f"SEX {sex!r} {expected}")
        for child, sex in (("C1", "M"), ("C2", "F"), ("C3", "U"))
    ]
    assert _child(api, "C1") is None


def test_a_2024_25_return_with_the_2016_17_codes_is_refused(api: TestClient) -> None:
    job = _run(api, _return(2025, ["1", "2"]), collection_year="2025")

    assert job["summary"]["children"] == {"created": 0, "updated": 0, "unchanged": 0, "rejected": 2}
    expected = "is not a 2024/25 code: the 2024/25 return records SEX as M, F or U."
    assert _report(api, job) == [
        ("C1", "SEX", "error", "101", "invalid_code", f"SEX '1' {expected}"),
        ("C2", "SEX", "error", "101", "invalid_code", f"SEX '2' {expected}"),
    ]


@pytest.mark.parametrize(
    ("ends", "accepted", "refused"),
    [(2024, "1", "M"), (2025, "M", "1")],  # 2023/24 is the last year of 1/2
)
def test_the_codes_change_between_2023_24_and_2024_25(
    api: TestClient, ends: int, accepted: str, refused: str
) -> None:
    job = _run(api, _return(ends, [accepted, refused]), collection_year=str(ends))

    assert [(e["child"], e["dfe_rule"], e["code"]) for e in errors_of(api, job)] == [
        ("C2", "101", "invalid_code")
    ]
    assert _child(api, "C1") is not None


def test_a_blank_sex_names_the_year_s_codes(api: TestClient) -> None:
    job = _run(api, _return(2025, [""]), collection_year="2025")

    assert _report(api, job) == [
        (
            "C1",
            "SEX",
            "error",
            "101",
            "invalid_code",
            "SEX is required: the 2024/25 return records it as M, F or U.",
        )
    ]


# -- the collection year: named or inferred ---------------------------------------------


def test_a_return_without_a_collection_year_is_read_as_the_year_of_its_latest_decom(
    api: TestClient,
) -> None:
    job = _run(api, _return(2025, ["M", "F"]))

    assert (job["collection_year"], job["collection_year_inferred"], job["year_ending"]) == (
        "2024/25",
        True,
        "2025-03-31",
    )
    assert job["summary"]["children"]["created"] == 2
    assert errors_of(api, job) == []


def test_an_inferred_year_applies_its_codes(api: TestClient) -> None:
    job = _run(api, _return(2017, ["M"]))  # the DECOMs are in 2016/17: SEX is 1 or 2

    assert (job["collection_year"], job["collection_year_inferred"]) == ("2016/17", True)
    assert [(e["dfe_rule"], e["code"]) for e in errors_of(api, job)] == [("101", "invalid_code")]


def test_the_job_shows_no_collection_year_until_it_is_read(api: TestClient) -> None:
    queued = upload(api, _return(2025, ["M"])).json()

    assert queued["collection_year"] in {None, "2024/25"}  # the job may already have run
    assert queued["collection_year_inferred"] in {None, True}
    assert (queued["collection_year"] is None) == (queued["collection_year_inferred"] is None)
    finished = wait_for(api, f"{IMPORTS}/{queued['id']}")
    assert (finished["collection_year"], finished["collection_year_inferred"]) == ("2024/25", True)


@pytest.mark.parametrize("year", ["2015", "2028", "1999"])
def test_a_collection_year_outside_2015_16_to_2026_27_is_422(api: TestClient, year: str) -> None:
    response = upload(api, _return(2025, ["M"]), collection_year=year)

    body = assert_problem(response, 422, "validation-error", "/collection_year")
    assert [e["location"] for e in body["errors"]] == ["body"]
    assert api.get(IMPORTS, headers=SUPPORT).json()["items"] == []  # no job started


@pytest.mark.parametrize(("year", "label"), [("2016", "2015/16"), ("2027", "2026/27")])
def test_the_first_and_last_collection_years_are_accepted(
    api: TestClient, year: str, label: str
) -> None:
    ends = int(year)
    job = _run(api, _return(ends, ["1" if ends < 2025 else "M"]), collection_year=year)

    assert job["collection_year"] == label
    assert job["summary"]["children"]["created"] == 1


# -- the report: by rule, filtered, as CSV -----------------------------------------------

# C1 and C2 carry the 2016/17 codes (rule 101); C3 is of unknown sex (a warning, rule 232); C4
# has a review after the collection year (this service's own check: no DfE rule); C5 is clean.
MIXED = ["1", "2", "U", "M", "F"]
LATE_REVIEW = "C4,15/06/2012,15/04/2025,PN1\n"
SEX_1 = "SEX '1' is not a 2024/25 code: the 2024/25 return records SEX as M, F or U."


def _mixed(api: TestClient) -> dict[str, Any]:
    return _run(api, _return(2025, MIXED, LATE_REVIEW), collection_year="2025")


def test_the_summary_groups_problems_by_rule_most_first(api: TestClient) -> None:
    job = _mixed(api)

    problems = job["summary"]["problems"]
    assert problems["by_rule"] == [
        {
            "dfe_rule": "101",
            "code": "invalid_code",
            "severity": "error",
            "problems": 2,
            "children": 2,
            "example": SEX_1,
        },
        {  # equal counts: this service's own checks, then by rule number
            "dfe_rule": None,
            "code": "after_collection_year",
            "severity": "error",
            "problems": 1,
            "children": 1,
            "example": "REVIEW 15/04/2025 is after the end of the 2024/25 collection year "
            "(31/03/2025).",
        },
        {
            "dfe_rule": "232",
            "code": "sex_unknown",
            "severity": "warning",
            "problems": 1,
            "children": 1,
            "example": "SEX is recorded as unknown (U).",
        },
    ]
    assert (problems["total"], problems["warnings"]) == (4, 1)
    assert problems["by_code"] == {"after_collection_year": 1, "invalid_code": 2, "sex_unknown": 1}
    assert job["summary"]["children"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 3}
    assert _child(api, "C3") is not None and _child(api, "C4") is None


def test_the_error_report_filters_by_dfe_rule_and_severity(api: TestClient) -> None:
    job = _mixed(api)

    def children(**filters: str) -> list[str]:
        return [e["child"] for e in errors_of(api, job, **filters)]

    assert children(dfe_rule="101") == ["C1", "C2"]
    assert children(dfe_rule="232") == ["C3"]
    assert children(severity="warning") == ["C3"]
    assert children(severity="error") == ["C1", "C2", "C4"]
    assert children(dfe_rule="101", severity="warning") == []
    assert children(dfe_rule="999") == []
    assert children(dfe_rule="101", child="C2") == ["C2"]
    refused = api.get(job["links"]["errors"], params={"severity": "fatal"}, headers=SUPPORT)
    assert_problem(refused, 422, "validation-error", "/severity")


def test_the_csv_report_has_one_record_per_problem(api: TestClient) -> None:
    job = _mixed(api)

    response = api.get(job["links"]["errors_csv"], headers=SUPPORT)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    header, *records = list(csv.reader(io.StringIO(response.text, newline="")))
    assert header == ["file", "line", "child", "field", "severity", "dfe_rule", "code", "message"]
    assert records == [
        ["header.csv", "2", "C1", "SEX", "error", "101", "invalid_code", SEX_1],
        [
            "header.csv",
            "3",
            "C2",
            "SEX",
            "error",
            "101",
            "invalid_code",
            SEX_1.replace("1", "2", 1),
        ],
        [
            "header.csv",
            "4",
            "C3",
            "SEX",
            "warning",
            "232",
            "sex_unknown",
            "SEX is recorded as unknown (U).",
        ],
        [
            "reviews.csv",
            "7",
            "C4",
            "REVIEW",
            "error",
            "",
            "after_collection_year",
            "REVIEW 15/04/2025 is after the end of the 2024/25 collection year (31/03/2025).",
        ],
    ]
    assert "," in SEX_1  # a message with a comma is still one cell
    assert len(records) == job["summary"]["problems"]["total"]
    # Filters apply to the CSV as to the JSON pages.
    filtered = api.get(
        job["links"]["errors"], params={"format": "csv", "severity": "warning"}, headers=SUPPORT
    )
    assert [r[2] for r in list(csv.reader(io.StringIO(filtered.text, newline="")))[1:]] == ["C3"]
