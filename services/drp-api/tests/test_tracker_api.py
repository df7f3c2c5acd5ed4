"""The weekly tracker: disputes open on a day as they stood then, as JSON, CSV and XLSX.

The disputes are the `april_2017` fixture's (conftest.py): A escalated then resolved, B never
acted on, C raised at stage 3 then referred to Cafcass, D withdrawn.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from .conftest import CHILD, IRO, SUPPORT, V1, Disputes
from .problems import assert_problem

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _tracker(api: TestClient, as_at: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(f"{V1}/tracker", params={"as_at": as_at, **params}, headers=SUPPORT)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _refs(rows: list[dict[str, Any]]) -> list[str]:
    return [row["reference"] for row in rows]


def test_the_tracker_lists_disputes_open_that_day_as_they_stood(
    api: TestClient, april_2017: dict
) -> None:
    rows = _tracker(api, "2017-04-18")

    assert _refs(rows) == ["DRP-2017-0001", "DRP-2017-0002", "DRP-2017-0003"]  # D not yet raised
    a, b, c = rows
    assert (a["stage"], a["stage_name"], a["stage_due_by"]) == (2, "Service manager", "2017-04-18")
    assert (a["last_action"], a["last_action_on"]) == ("escalate", "2017-04-07")
    # 3 to 18 April: 15 calendar days; 4-7, 10-13 and 18 April are 9 working days.
    assert (a["days_open"], a["working_days_open"]) == (15, 9)
    assert (a["stage_overdue"], a["overall_overdue"]) == (False, False)  # due that very day
    assert (b["category"], b["iro"]["name"], b["themes"]) == (
        "cp",
        "Blake Jones",
        ["contact", "drift_and_delay"],
    )
    assert (b["child"]["external_id"], b["overall_due_by"]) == ("LCS-2", "2017-05-11")
    assert (c["stage"], c["last_action"], c["child"]) == (3, "raise", CHILD)


def test_a_dispute_leaves_the_tracker_on_the_day_it_closes(
    api: TestClient, april_2017: dict
) -> None:
    rows = _tracker(api, "2017-04-20")
    assert _refs(rows) == ["DRP-2017-0002", "DRP-2017-0003", "DRP-2017-0004"]  # A resolved
    assert rows[0]["stage_overdue"] is True  # B's stage was due on 19 April
    assert _refs(_tracker(api, "2017-04-24")) == ["DRP-2017-0002"]  # C referred, D withdrawn
    assert _tracker(api, "2017-04-02") == []


def test_later_actions_do_not_change_a_past_tracker(
    api: TestClient, disputes: Disputes, april_2017: dict
) -> None:
    before = _tracker(api, "2017-04-24")
    disputes.act(april_2017["B"]["id"], "escalate", "2017-04-25")
    assert _tracker(api, "2017-04-24") == before
    assert _tracker(api, "2017-04-25")[0]["stage"] == 2


def _file(api: TestClient, as_at: str, **request: Any) -> Any:
    response = api.get(
        f"{V1}/tracker",
        params={"as_at": as_at, **request.get("params", {})},
        headers={**IRO, **request.get("headers", {})},
    )
    assert response.status_code == 200, response.text
    return response


def test_the_csv_holds_the_same_rows_as_the_json(api: TestClient, april_2017: dict) -> None:
    rows = _tracker(api, "2017-04-20")
    response = _file(api, "2017-04-20", headers={"Accept": "text/csv"})

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="drp-tracker-2017-04-20.csv"'
    )
    header, *lines = list(csv.reader(io.StringIO(response.text)))
    assert header[:6] == ["Reference", "Child", "Child case id", "IRO", "Category", "Themes"]
    records = [dict(zip(header, line, strict=True)) for line in lines]
    assert [r["Reference"] for r in records] == _refs(rows)
    for record, row in zip(records, rows, strict=True):
        assert record["Stage due by"] == row["stage_due_by"]
        assert int(record["Working days open"]) == row["working_days_open"]
        assert record["Stage overdue"] == ("yes" if row["stage_overdue"] else "no")
    assert records[0]["Themes"] == "Contact; Drift and delay"
    assert records[0]["Category"] == "CP"


def test_the_xlsx_is_a_spreadsheet_with_the_same_rows(api: TestClient, april_2017: dict) -> None:
    rows = _tracker(api, "2017-04-20")
    response = _file(api, "2017-04-20", params={"format": "xlsx"})

    assert response.headers["content-type"] == XLSX
    assert 'filename="drp-tracker-2017-04-20.xlsx"' in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["Reference", "Child", "Child case id"]
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:Q{len(rows) + 1}"
    records = [
        dict(zip(header, line, strict=True))
        for line in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert [r["Reference"] for r in records] == _refs(rows)
    for record, row in zip(records, rows, strict=True):
        assert isinstance(record["Raised on"], datetime)
        assert record["Raised on"].date() == date.fromisoformat(row["raised_on"])
        assert record["Stage due by"].date() == date.fromisoformat(row["stage_due_by"])
        assert record["Days open"] == row["days_open"]
    due_cell = sheet.cell(row=2, column=header.index("Stage due by") + 1)
    assert due_cell.is_date and due_cell.number_format == "dd/mm/yyyy"


def test_text_that_looks_like_a_formula_stays_text(api: TestClient, disputes: Disputes) -> None:
    disputes.raise_(raised_on="2017-04-03", child={**CHILD, "name": "=1+2"})
    sheet = load_workbook(
        io.BytesIO(_file(api, "2017-04-03", params={"format": "xlsx"}).content)
    ).active
    assert (sheet["B2"].value, sheet["B2"].data_type) == ("=1+2", "s")
    text = _file(api, "2017-04-03", params={"format": "csv"}).text
    assert "'=1+2" in text


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("text/csv;q=0.5, " + XLSX, XLSX),
        ("text/csv, application/json;q=0.9", "text/csv; charset=utf-8"),
    ],
)
def test_the_format_follows_accept(api: TestClient, accept: str | None, expected: str) -> None:
    headers = {"Accept": accept} if accept else {}
    assert _file(api, "2017-04-03", headers=headers).headers["content-type"] == expected


def test_format_overrides_accept_and_an_unknown_format_is_refused(api: TestClient) -> None:
    csv_response = _file(api, "2017-04-03", params={"format": "csv"}, headers={"Accept": XLSX})
    assert csv_response.headers["content-type"].startswith("text/csv")
    # A format the route does not serve is not in its documented enum: invalid, not 406.
    refused = api.get(f"{V1}/tracker", params={"format": "html"}, headers=IRO)
    assert_problem(refused, 422, "validation-error", pointer="/format")
    refused = api.get(f"{V1}/tracker", headers={**IRO, "Accept": "application/pdf"})
    assert_problem(refused, 406, "not-acceptable")
    assert_problem(
        api.get(f"{V1}/tracker", params={"format": "pdf"}, headers=IRO), 422, "validation-error"
    )
    assert_problem(
        api.get(f"{V1}/tracker", params={"as_at": "soon"}, headers=IRO), 422, "validation-error"
    )


def test_the_json_tracker_is_paginated_and_the_files_hold_every_row(
    api: TestClient, april_2017: dict
) -> None:
    first = api.get(f"{V1}/tracker", params={"as_at": "2017-04-20", "limit": 2}, headers=IRO).json()
    assert _refs(first["items"]) == ["DRP-2017-0002", "DRP-2017-0003"]
    second = api.get(
        f"{V1}/tracker",
        params={"as_at": "2017-04-20", "limit": 2, "cursor": first["next_cursor"]},
        headers=IRO,
    ).json()
    assert (_refs(second["items"]), second["next_cursor"]) == (["DRP-2017-0004"], None)
    text = _file(api, "2017-04-20", params={"format": "csv", "limit": 2}).text
    assert len(text.strip().splitlines()) == 4  # the header and three rows
