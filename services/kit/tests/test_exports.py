"""Choosing a route's format from `?format=` or `Accept`."""

import csv
import io

import pytest
from openpyxl import load_workbook

from iro_kit.exports import (
    Column,
    ExportFormat,
    NotAcceptable,
    Table,
    negotiate,
    to_csv,
    to_html,
    to_xlsx,
)

TREND = (ExportFormat.json, ExportFormat.csv, ExportFormat.svg, ExportFormat.png)


def test_a_type_wildcard_takes_the_first_offered_format_of_that_type() -> None:
    assert negotiate(None, "image/*", TREND) is ExportFormat.svg
    assert negotiate(None, "application/*", TREND) is ExportFormat.json
    assert negotiate(None, "*/*", TREND) is ExportFormat.json


def test_quality_order_is_kept_for_charts() -> None:
    assert negotiate(None, "image/svg+xml;q=0.5, image/png", TREND) is ExportFormat.png


def test_a_chart_format_a_route_does_not_offer_is_not_acceptable() -> None:
    tables = (ExportFormat.json, ExportFormat.csv)
    with pytest.raises(NotAcceptable):
        negotiate(ExportFormat.svg, None, tables)
    with pytest.raises(NotAcceptable):
        negotiate(None, "image/*", tables)


def test_a_control_character_before_a_formula_cannot_make_it_live() -> None:
    import io

    from openpyxl import load_workbook

    from iro_kit.exports import Column, Table, to_xlsx

    table = Table(
        "Names", [Column("Name", lambda r: r)], ['\x01=HYPERLINK("http://x","y")', "@SUM(1)"]
    )
    sheet = load_workbook(io.BytesIO(to_xlsx(table))).active
    cells = [sheet.cell(row=n, column=1) for n in (2, 3)]
    assert [c.value for c in cells] == ['=HYPERLINK("http://x","y")', "@SUM(1)"]
    assert [c.data_type for c in cells] == ["s", "s"]  # text, not formulas


FORMULA = '=HYPERLINK("http://evil.example","click")'


def _one_column(*values: str) -> Table:
    return Table("Names", [Column("Name", lambda r: r)], list(values))


def _csv_cells(table: Table) -> list[str]:
    return [row[0] for row in csv.reader(io.StringIO(to_csv(table).decode("utf-8")))][1:]


@pytest.mark.parametrize(
    ("stored", "written"),
    [
        ("\x01" + FORMULA, "'" + FORMULA),  # cleaned first, then neutralised
        ("\x00\x1b" + FORMULA, "'" + FORMULA),
        ("\x7f\x85" + FORMULA, "'" + FORMULA),  # DEL and C1 too
        (" " + FORMULA, "' " + FORMULA),  # importers may trim the spaces
        ("\x01 \x02+1+2", "' +1+2"),
        ("\u3000@SUM(1)", "'\u3000@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\uff1d1+2", "'\uff1d1+2"),  # a full-width equals sign
        ("-1", "'-1"),
        ("Sam Taylor", "Sam Taylor"),
        ("Sam \x00Taylor = 1", "Sam Taylor = 1"),
    ],
)
def test_csv_cells_are_cleaned_and_then_neutralised(stored: str, written: str) -> None:
    assert _csv_cells(_one_column(stored)) == [written]


@pytest.mark.parametrize(
    ("stored", "kept"),
    [
        ("\x01" + FORMULA, FORMULA),
        (" " + FORMULA, " " + FORMULA),
        ("\x1b \x7f+1", " +1"),
        ("\x85@SUM(1)", "@SUM(1)"),
    ],
)
def test_xlsx_cells_are_cleaned_and_then_kept_as_quote_prefixed_text(
    stored: str, kept: str
) -> None:
    cell = load_workbook(io.BytesIO(to_xlsx(_one_column(stored, "plain")))).active["A2"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (kept, "s", True)
    plain = load_workbook(io.BytesIO(to_xlsx(_one_column("plain")))).active["A2"]
    assert not plain.quotePrefix


def test_the_printable_page_holds_no_control_characters() -> None:
    page = to_html(_one_column("Sam\x00\x01 Taylor\x85"), ["Heading \x1b[31m"]).decode("utf-8")
    assert "Sam Taylor" in page and "Heading [31m" in page
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in page)


def test_format_dependency_documents_and_serves_exactly_the_offered_formats() -> None:
    from typing import Annotated

    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from iro_kit.errors import install_problem_handlers
    from iro_kit.exports import format_dependency

    app = FastAPI()
    install_problem_handlers(app)
    offered = (ExportFormat.json, ExportFormat.csv)

    @app.get("/things")
    def things(chosen: Annotated[ExportFormat, Depends(format_dependency(*offered))]) -> str:
        return chosen.value

    (parameter,) = app.openapi()["paths"]["/things"]["get"]["parameters"]
    assert parameter["name"] == "format"
    assert [s.get("enum") for s in parameter["schema"]["anyOf"]] == [["json", "csv"], None]
    client = TestClient(app)
    assert [client.get("/things", params={"format": f}).json() for f in ("json", "csv")] == [
        "json",
        "csv",
    ]
    assert client.get("/things", headers={"Accept": "text/csv"}).json() == "csv"
    # Not documented, so invalid (422); only Accept can ask for what is not served (406).
    assert client.get("/things", params={"format": "png"}).status_code == 422
    assert client.get("/things", headers={"Accept": "image/png"}).status_code == 406


@pytest.mark.parametrize("chosen", [ExportFormat.csv, ExportFormat.xlsx, ExportFormat.html])
def test_a_file_is_rendered_in_a_worker_thread_not_on_the_event_loop(
    chosen: ExportFormat,
) -> None:
    import threading

    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from iro_kit.exports import file_response

    threads: dict[str, int] = {}

    def cell(row: int) -> str:
        threads.setdefault("render", threading.get_ident())
        return f"row {row}"

    table = Table("Rows", [Column("Row", cell)], list(range(3)))
    app = FastAPI()

    @app.get("/file")
    async def route() -> object:
        threads["loop"] = threading.get_ident()
        return file_response(table, chosen, "rows-2026-12-02")

    with TestClient(app) as client:
        response = client.get("/file")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content) > 0
    assert f'filename="rows-2026-12-02.{chosen.value}"' in response.headers["content-disposition"]
    assert threads["render"] != threads["loop"]
