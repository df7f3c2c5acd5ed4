"""Choosing a route's format from `?format=` or `Accept`."""

import pytest

from iro_kit.exports import ExportFormat, NotAcceptable, negotiate

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
