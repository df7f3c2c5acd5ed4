"""One text rule on SQLite and PostgreSQL, and files that never carry a live formula (issue 11).

Control characters in a body field or a filter are a 422 naming it. Text already stored (a
name from before the rule, a name claim of a token) is cleaned and then neutralised in every
file: a formula stays text in CSV (`'` first) and XLSX (a string cell, quote-prefixed), even
when control characters or spaces come before it.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from iro_kit.testing import bearer

from .conftest import CHILD, IRO, SUPPORT, V1, Disputes, raise_body
from .problems import assert_problem

LINK = '=HYPERLINK("http://evil.example","click")'


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"issue": "No plan\x00"}, "/issue"),
        ({"outcome_sought": "\x1b[31mA meeting"}, "/outcome_sought"),
        ({"asked": {"name": "Jo\nBloggs"}}, "/asked/name"),
        ({"asked": {"name": "Jo", "role": "Team\tmanager"}}, "/asked/role"),
        ({"themes": ["care_planning\x00"]}, "/themes/0"),
    ],
)
def test_a_control_character_in_a_dispute_is_a_422_naming_the_field(
    api: TestClient, fields: dict[str, Any], pointer: str
) -> None:
    response = api.post(f"{V1}/disputes", json=raise_body(**fields), headers=IRO)
    assert_problem(response, 422, "validation-error", pointer)
    assert api.get(f"{V1}/disputes", headers=IRO).json()["items"] == []


def test_free_text_keeps_its_lines(api: TestClient, disputes: Disputes) -> None:
    issue = "No permanence plan.\r\n\tSee the minutes:\n- item 3"
    dispute = disputes.raise_(raised_on="2017-04-03", issue=issue)
    assert disputes.get(dispute["id"])["issue"] == issue


def test_a_nul_in_a_transition_is_a_422(api: TestClient, disputes: Disputes) -> None:
    dispute = disputes.raise_(raised_on="2017-04-03")
    response = disputes.post(dispute["id"], "respond", "2017-04-05", responder={"name": "Jo\x00"})
    assert_problem(response, 422, "validation-error", "/responder/name")
    response = disputes.post(dispute["id"], "respond", "2017-04-05", response="Booked\x00")
    assert_problem(response, 422, "validation-error", "/response")


@pytest.mark.parametrize("parameter", ["child_external_id", "reference"])
@pytest.mark.parametrize("character", ["\x00", "\x08", "\n", "\x9f"])
def test_a_control_character_in_a_filter_is_a_422_naming_it(
    api: TestClient, disputes: Disputes, parameter: str, character: str
) -> None:
    disputes.raise_(raised_on="2017-04-03")
    response = api.get(f"{V1}/disputes", params={parameter: f"X{character}"}, headers=IRO)
    body = assert_problem(response, 422, "validation-error", f"/{parameter}")
    assert body["errors"][0]["location"] == "query"


def _tracker_file(api: TestClient, format_: str) -> Any:
    response = api.get(
        f"{V1}/tracker", params={"as_at": "2017-04-03", "format": format_}, headers=SUPPORT
    )
    assert response.status_code == 200, response.text
    return response


def _csv_column(response: Any, header: str) -> list[str]:
    first, *rows = list(csv.reader(io.StringIO(response.text)))
    return [row[first.index(header)] for row in rows]


def _xlsx_cell(response: Any, header: str, row: int = 2) -> Any:
    sheet = load_workbook(io.BytesIO(response.content)).active
    headers = [cell.value for cell in sheet[1]]
    return sheet.cell(row=row, column=headers.index(header) + 1)


def _assert_text_not_formula(cell: Any, value: str) -> None:
    assert cell.value == value
    assert cell.data_type == "s"  # "f" would be a formula
    assert cell.quotePrefix  # and Excel keeps it text once edited


@pytest.mark.parametrize("name", [" " + LINK, "  +SUM(1,2)", "\u3000-1+2", " @cmd"])
def test_a_formula_after_leading_spaces_stays_text_in_the_tracker_files(
    api: TestClient, disputes: Disputes, name: str
) -> None:
    disputes.raise_(raised_on="2017-04-03", child={**CHILD, "name": name})
    assert _csv_column(_tracker_file(api, "csv"), "Child") == ["'" + name]
    _assert_text_not_formula(_xlsx_cell(_tracker_file(api, "xlsx"), "Child"), name)


def _store(url: str, statement: str, **values: Any) -> None:
    """Writes straight to the database, as data from before the text rule would be."""

    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(statement), values)
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.mark.parametrize("stored", ["\x01" + LINK, "\x1b \x7f" + LINK, "\x85\t" + LINK])
def test_a_stored_name_with_control_characters_before_a_formula_stays_text(
    api: TestClient, disputes: Disputes, database_url: str, stored: str
) -> None:
    disputes.raise_(raised_on="2017-04-03")
    _store(database_url, "UPDATE dispute SET child_name = :name", name=stored)
    cleaned = stored.replace("\x01", "").replace("\x1b", "").replace("\x7f", "")
    cleaned = cleaned.replace("\x85", "")
    assert _csv_column(_tracker_file(api, "csv"), "Child") == ["'" + cleaned]
    _assert_text_not_formula(_xlsx_cell(_tracker_file(api, "xlsx"), "Child"), cleaned)
    assert _tracker_file(api, "json").json()["items"][0]["child"]["name"] == stored


def test_the_history_files_keep_a_formula_in_a_name_claim_as_text(
    api: TestClient, disputes: Disputes, database_url: str
) -> None:
    iro = bearer("iro", subject="iro-9", name=" " + LINK)
    dispute = disputes.raise_(raised_on="2017-04-03", headers=iro)
    _store(database_url, "UPDATE dispute SET child_name = :name", name="\x01" + LINK)
    path = f"{V1}/disputes/{dispute['id']}/history"

    rows = api.get(path, params={"format": "csv"}, headers=IRO)
    assert _csv_column(rows, "Recorded by") == ["' " + LINK]
    sheet = api.get(path, params={"format": "xlsx"}, headers=IRO)
    _assert_text_not_formula(_xlsx_cell(sheet, "Recorded by"), " " + LINK)
    page = api.get(path, params={"format": "html"}, headers=IRO).text
    assert "\x01" not in page
