"""SSDA903 imports through the API: a small hand-made return with known answers.

tests/data/ssda903/year1 (2017-18): A1 and B2 load; C3 (DEC before DECOM), D4 (PN0 at 5) and
E5 (reviews only, not in Header) do not. year2 (2018-19) ends A1's care and adds F6.
Due dates counted by hand: 2017 bank holidays 14 and 17 April, 1 and 29 May, 28 August;
2018 Good Friday 30 March, Easter Monday 2 April, 7 and 28 May.
"""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from iro_kit.migrations import upgrade_to_head
from reviews_api.app import SPEC, create_app
from reviews_api.imports import jobs
from reviews_api.settings import Settings

from .conftest import INTEGRATION, IRO, MANAGER, PERFORMANCE, SUPPORT, if_match
from .imports import DATA, IMPORTS, errors_of, files_of, run_import, upload, wait_for
from .problems import assert_problem

V1 = "/reviews/v1"


def _child(api: TestClient, external_id: str) -> dict[str, Any]:
    found = api.get(f"{V1}/children", params={"external_id": external_id}, headers=IRO).json()
    assert len(found["items"]) == 1, found
    return found["items"][0]


def _reviews(api: TestClient, child_id: str) -> list[tuple[Any, ...]]:
    reviews = api.get(f"{V1}/children/{child_id}/reviews", headers=IRO).json()
    return [
        (r["held_on"], r["participation_code"], r["sequence"], r["due_by"], r["in_timescale"])
        for r in reviews
    ]


def test_the_upload_answers_202_with_the_job_at_once(api: TestClient) -> None:
    response = upload(api, files_of(DATA / "year1"))

    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == f"{IMPORTS}/{job['id']}"
    assert job["status"] in {"queued", "running", "finished"}
    assert job["created_by"] == "support-1"
    assert wait_for(api, response.headers["Location"])["status"] == "finished"


def test_a_hand_made_return_loads_exactly(api: TestClient) -> None:
    job = run_import(api, DATA / "year1")

    summary = job["summary"]
    assert summary["children"] == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 3}
    assert summary["episodes"] == {"created": 4, "updated": 0}
    assert summary["reviews"] == {"created": 5, "updated": 0}
    assert summary["outcomes"] == {"created": 2, "updated": 0}
    assert summary["rows"] == {
        "rows": 22,
        "loaded": 13,
        "rejected": 3,
        "held_back": 5,
        "ignored": 1,
    }
    assert job["progress"] == {
        "rows_read": 22,
        "children_total": 5,
        "children_done": 5,
        "children_loaded": 2,
        "children_rejected": 3,
        "problems": 3,
    }
    assert job["year_ending"] == "2018-03-31"
    a1 = _child(api, "A1")
    assert (a1["date_of_birth"], a1["sex"], a1["given_name"], a1["family_name"]) == (
        "2010-06-15",
        "female",
        None,
        None,
    )
    assert _child(api, "B2")["sex"] == "male"
    for missing in ("C3", "D4", "E5"):
        found = api.get(f"{V1}/children", params={"external_id": missing}, headers=IRO).json()
        assert found["items"] == []


def test_every_file_is_accounted_for(api: TestClient) -> None:
    job = run_import(api, DATA / "year1")

    files = {f["name"]: f for f in job["files"]}
    assert {n: (f["kind"], f["rows"], f["blank_lines"]) for n, f in files.items()} == {
        "episodes.csv": ("episodes", 7, 1),
        "header.csv": ("header", 4, 2),
        "oc2.csv": ("oc2", 2, 0),
        "reviews.csv": ("reviews", 8, 0),
        "uasc.csv": ("uasc", 1, 0),
    }
    counts = {
        n: (f["loaded"], f["rejected"], f["held_back"], f["ignored"]) for n, f in files.items()
    }
    assert counts == {
        "episodes.csv": (4, 1, 2, 0),
        "header.csv": (2, 0, 2, 0),
        "oc2.csv": (2, 0, 0, 0),
        "reviews.csv": (5, 2, 1, 0),
        "uasc.csv": (0, 0, 0, 1),
    }
    assert files["episodes.csv"]["unknown_columns"] == ["LA"]
    assert "not needed" in files["uasc.csv"]["note"]


def test_the_error_report_names_file_line_child_field_and_code(api: TestClient) -> None:
    job = run_import(api, DATA / "year1")

    report = [
        (e["file"], e["line"], e["child"], e["field"], e["code"]) for e in errors_of(api, job)
    ]

    assert report == [
        ("episodes.csv", 6, "C3", "DEC", "dec_before_decom"),
        ("reviews.csv", 8, "D4", "REVIEW_CODE", "participation_code_age"),
        ("reviews.csv", 9, "E5", "CHILD", "child_not_in_header"),
    ]
    assert errors_of(api, job, code="child_not_in_header")[0]["message"] == (
        "Child E5 is not in the Header file."
    )


def test_the_error_report_as_csv(api: TestClient) -> None:
    job = run_import(api, DATA / "year1")

    by_accept = api.get(job["links"]["errors"], headers={**SUPPORT, "Accept": "text/csv"})
    by_format = api.get(job["links"]["errors_csv"], headers=SUPPORT)

    for response in (by_accept, by_format):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment; filename=" in response.headers["content-disposition"]
        lines = response.text.splitlines()
        assert lines[0] == "file,line,child,field,severity,dfe_rule,code,message"
        assert lines[1].startswith("episodes.csv,6,C3,DEC,error,356,dec_before_decom,")
        assert len(lines) == 4


def test_episodes_periods_and_legal_status_load_exactly(api: TestClient) -> None:
    run_import(api, DATA / "year1")
    a1, b2 = _child(api, "A1")["id"], _child(api, "B2")["id"]

    episodes = api.get(f"{V1}/children/{a1}/episodes", headers=IRO).json()
    assert [
        (e["external_id"], e["start_on"], e["end_on"], e["legal_status"], e["reason_ended"])
        for e in episodes
    ] == [
        ("903:A1:2017-04-03", "2017-04-03", "2017-06-01", "C1", "X1"),
        ("903:A1:2017-06-01", "2017-06-01", None, "C2", None),
    ]
    periods = api.get(f"{V1}/children/{b2}/periods-of-care", headers=IRO).json()
    assert [(p["start_on"], p["end_on"], p["legal_status"]) for p in periods] == [
        ("2017-07-10", "2017-10-20", "V2"),
        ("2018-03-05", None, "C1"),
    ]
    schedule = api.get(
        f"{V1}/children/{a1}/schedule", params={"as_at": "2017-05-15"}, headers=IRO
    ).json()
    assert schedule["period_of_care"]["legal_status"] == "C1"
    on_change = api.get(
        f"{V1}/children/{a1}/schedule", params={"as_at": "2017-06-01"}, headers=IRO
    ).json()
    assert on_change["period_of_care"]["legal_status"] == "C2"
    left_care = api.get(
        f"{V1}/children/{b2}/schedule", params={"as_at": "2017-12-01"}, headers=IRO
    ).json()
    assert (left_care["status"], left_care["looked_after"]) == ("ended", False)


def test_reviews_get_due_dates_and_timescale_flags_from_the_schedule(api: TestClient) -> None:
    run_import(api, DATA / "year1")

    assert _reviews(api, _child(api, "A1")["id"]) == [
        ("2017-05-02", "PN1", "first", "2017-05-04", True),  # 20 working days after 3 April
        ("2017-08-01", "PN1", "second", "2017-08-01", True),  # 91 days after 2 May
        ("2018-02-05", "PN2", "subsequent", "2018-01-31", False),  # 183 days after 1 August
    ]
    assert _reviews(api, _child(api, "B2")["id"]) == [
        ("2017-08-04", "PN0", "first", "2017-08-07", True),
        ("2018-03-28", "PN1", "first", "2018-04-04", True),  # a new period: the clock restarts
    ]
    late = api.get(f"{V1}/children/{_child(api, 'A1')['id']}/reviews", headers=IRO).json()[2]
    assert late["late_reason"] is None  # the return carries no reason: "not recorded"


def test_the_same_return_again_changes_nothing(api: TestClient) -> None:
    run_import(api, DATA / "year1")
    a1 = _child(api, "A1")
    before = (_reviews(api, a1["id"]), api.get(f"{V1}/children/{a1['id']}/episodes", headers=IRO))

    again = run_import(api, DATA / "year1")

    summary = again["summary"]
    assert summary["children"] == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 3}
    assert summary["episodes"] == summary["reviews"] == {"created": 0, "updated": 0}
    assert summary["outcomes"] == {"created": 0, "updated": 0}
    assert _child(api, "A1") == a1  # same version, same updated_at
    episodes = api.get(f"{V1}/children/{a1['id']}/episodes", headers=IRO).json()
    assert (_reviews(api, a1["id"]), episodes) == (before[0], before[1].json())


def test_next_years_return_updates_and_extends(api: TestClient) -> None:
    run_import(api, DATA / "year1")

    job = run_import(api, DATA / "year2")

    assert job["summary"]["children"] == {"created": 1, "updated": 1, "unchanged": 0, "rejected": 0}
    assert job["summary"]["episodes"] == {"created": 1, "updated": 1}
    assert job["year_ending"] == "2019-03-31"
    a1 = _child(api, "A1")["id"]
    episodes = api.get(f"{V1}/children/{a1}/episodes", headers=IRO).json()
    assert [(e["start_on"], e["end_on"], e["reason_ended"]) for e in episodes] == [
        ("2017-04-03", "2017-06-01", "X1"),  # not in this year's return: kept
        ("2017-06-01", "2018-04-10", "E4A"),
    ]
    assert len(_reviews(api, a1)) == 3
    f6 = _child(api, "F6")["id"]
    assert _reviews(api, f6) == [("2018-05-25", "PN3", "first", "2018-06-01", True)]


def test_a_zip_of_the_return_imports_the_same(api: TestClient) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted((DATA / "year1").iterdir()):
            zipped.write(path, f"return-2018/{path.name}")
    response = upload(api, [("files", ("return.zip", archive.getvalue(), "application/zip"))])

    job = wait_for(api, response.headers["Location"])

    assert job["summary"]["children"]["created"] == 2
    assert len(job["files"]) == 5


def test_a_broken_zip_is_422_and_starts_no_job(api: TestClient) -> None:
    broken = b"PK\x03\x04" + b"\x00" * 40
    response = upload(api, [("files", ("return.zip", broken, "application/zip"))])

    assert_problem(response, 422, "validation-error", "/files")
    assert api.get(IMPORTS, headers=SUPPORT).json()["items"] == []


def test_an_upload_without_files_is_422(api: TestClient) -> None:
    response = api.post(f"{IMPORTS}/ssda903", data={"collection_year": "2018"}, headers=SUPPORT)

    assert_problem(response, 422, "validation-error")


def test_the_collection_year_dates_the_oc2_rows(api: TestClient) -> None:
    run_import(api, DATA / "year1", collection_year="2019")

    outcomes = api.get(
        f"{V1}/children/{_child(api, 'A1')['id']}/annual-outcomes", headers=IRO
    ).json()

    assert [(o["year_ending"], o["sdq_score"], o["health_assessment"]) for o in outcomes] == [
        ("2019-03-31", 12, True)
    ]


def test_roles_for_imports(api: TestClient) -> None:
    for refused in (IRO, MANAGER, PERFORMANCE):
        response = upload(api, files_of(DATA / "year1"), headers=refused)
        assert_problem(response, 403, "forbidden")
    accepted = upload(api, files_of(DATA / "year1"), headers=INTEGRATION)
    assert accepted.status_code == 202
    wait_for(api, accepted.headers["Location"])
    for reader in (IRO, MANAGER, PERFORMANCE, INTEGRATION, SUPPORT):
        assert api.get(accepted.headers["Location"], headers=reader).status_code == 200
        assert api.get(IMPORTS, headers=reader).status_code == 200


def test_imports_are_listed_newest_first(api: TestClient) -> None:
    first = run_import(api, DATA / "year1")
    second = run_import(api, DATA / "year2")

    listed = api.get(IMPORTS, params={"count": "true"}, headers=IRO).json()

    assert [j["id"] for j in listed["items"]] == [second["id"], first["id"]]
    assert listed["total"] == 2


def test_a_child_the_database_refuses_is_reported_and_the_others_load(api: TestClient) -> None:
    run_import(api, DATA / "year1")
    a1 = _child(api, "A1")["id"]
    first = api.get(f"{V1}/children/{a1}/episodes", headers=IRO).json()[0]
    deleted = api.request(
        "DELETE",
        f"{V1}/episodes/{first['id']}",
        json={"reason": "Entered by mistake"},
        headers=if_match(first, INTEGRATION),
    )
    assert deleted.status_code == 204

    job = run_import(api, DATA / "year1")  # the return still has the deleted episode

    assert job["summary"]["children"] == {"created": 0, "updated": 0, "unchanged": 1, "rejected": 4}
    [conflict] = errors_of(api, job, code="conflict")
    assert (conflict["file"], conflict["line"], conflict["child"]) == ("header.csv", 2, "A1")
    assert len(api.get(f"{V1}/children/{a1}/episodes", headers=IRO).json()) == 1


def test_a_job_cut_short_by_a_shutdown_is_marked_failed(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade_to_head(SPEC.script_location, database_url)
    monkeypatch.setattr(jobs, "read_return", lambda *args: time.sleep(0.5))  # still reading

    with TestClient(create_app(Settings(database_url=database_url))) as running:
        location = upload(running, files_of(DATA / "year1")).headers["Location"]
    with TestClient(create_app(Settings(database_url=database_url))) as restarted:
        job = restarted.get(location, headers=SUPPORT).json()

    assert (job["status"], job["failure"]) == (
        "failed",
        "Interrupted by a shutdown; import the return again.",
    )
