"""One table, several formats: JSON (the route's model), CSV, XLSX and printable HTML.

The format comes from `?format=` or else the `Accept` header (API.md). Files carry a
`Content-Disposition` filename with the date. Spreadsheets are real ones a manager can filter:
a bold header row, frozen panes, an auto-filter, and dates stored as dates.

Every text cell, in every format, is cleaned the same way and in this order: control characters
are dropped first (iro_kit.text), then text that a spreadsheet would run as a formula is made
text: in CSV by a leading `'`, in XLSX as a string cell with Excel's quote prefix. The formula
check sees what is written, so nothing dropped later can uncover a formula, and it looks past
leading spaces, which importers may trim (` =HYPERLINK(...)`).
"""

import csv
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import partial
from typing import Annotated, Any, Literal

import anyio
from fastapi import Header, Query, Response
from openpyxl import Workbook
from openpyxl.drawing.image import Image
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from starlette.types import Receive, Scope, Send

from iro_kit.errors import ProblemError
from iro_kit.text import without_control_characters

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML_TYPE = "text/html"
SVG_TYPE = "image/svg+xml"
PNG_TYPE = "image/png"
# A cell a spreadsheet runs as a formula starts with one of these (OWASP CSV injection), or
# with one of the first four after spaces; the full-width forms are read as formulas too.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_FORMULA_AFTER_SPACES = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")

Cell = str | int | float | bool | date | None


class ExportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    html = "html"
    svg = "svg"  # charts: a route that offers them renders them itself
    png = "png"


_MEDIA_TYPES = {
    ExportFormat.json: "application/json",
    ExportFormat.csv: CSV_TYPE,
    ExportFormat.xlsx: XLSX_TYPE,
    ExportFormat.html: HTML_TYPE,
    ExportFormat.svg: SVG_TYPE,
    ExportFormat.png: PNG_TYPE,
}


def media_type(format_: ExportFormat) -> str:
    """The media type `Accept` names the format by (and a 200 documents it under)."""
    return _MEDIA_TYPES[format_]


class NotAcceptable(ProblemError):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Cell]
    width: int = 14


@dataclass(frozen=True)
class Table:
    title: str
    columns: Sequence[Column]
    rows: Sequence[Any]

    def values(self) -> list[list[Cell]]:
        return [[column.value(row) for column in self.columns] for row in self.rows]


def _accepted(accept: str) -> list[str]:
    """Media types from an Accept header, most preferred first (q=0 dropped)."""
    ranked = []
    for order, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranked.append((-quality, order, media.lower()))
    return [media for *_, media in sorted(ranked)]


def negotiate(
    requested: ExportFormat | None, accept: str | None, offered: Sequence[ExportFormat]
) -> ExportFormat:
    if requested is not None:
        if requested not in offered:
            choices = ", ".join(f.value for f in offered)
            raise NotAcceptable(f"format={requested.value} is not offered here: {choices}.")
        return requested
    if not accept:
        return offered[0]
    by_media = {_MEDIA_TYPES[f]: f for f in offered}
    for media in _accepted(accept):
        if media in by_media:
            return by_media[media]
        if media == "*/*":
            return offered[0]
        if media.endswith("/*"):  # the first offered of that type (application/*, image/*)
            kind = media[:-1]
            for format_ in offered:
                if _MEDIA_TYPES[format_].startswith(kind):
                    return format_
    raise NotAcceptable("None of the media types in Accept is offered here: " + ", ".join(by_media))


def format_dependency(*offered: ExportFormat) -> Callable[..., ExportFormat]:
    """The route's format, from `?format=` or else `Accept`; the first offered is the default.

    `?format=` is documented with exactly the offered values (its own enum per route), so a
    value the OpenAPI lists is never refused: any other is a 422, and only `Accept` can ask
    for something the route does not serve (406). `chosen.offered` names them (tests).
    """
    names = ", ".join(f"`{f.value}`" for f in offered)
    values = Literal[tuple(f.value for f in offered)]  # type: ignore[valid-type]

    def chosen(
        requested: Annotated[
            values | None,  # type: ignore[valid-type]
            Query(alias="format", description=f"One of {names}; overrides `Accept`."),
        ] = None,
        accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> ExportFormat:
        return negotiate(None if requested is None else ExportFormat(requested), accept, offered)

    chosen.offered = offered  # type: ignore[attr-defined]
    return chosen


def file_content(*formats: ExportFormat) -> dict[int | str, dict[str, Any]]:
    """OpenAPI: the file types a 200 also comes as."""
    schemas = {
        ExportFormat.csv: {"type": "string"},
        ExportFormat.xlsx: {"type": "string", "format": "binary"},
        ExportFormat.html: {"type": "string"},
        ExportFormat.svg: {"type": "string"},
        ExportFormat.png: {"type": "string", "format": "binary"},
    }
    return {200: {"content": {_MEDIA_TYPES[f]: {"schema": schemas[f]} for f in formats}}}


def _clean(value: Cell) -> Cell:
    """Text without control characters (which XLSX cannot hold and importers drop)."""
    return without_control_characters(value) if isinstance(value, str) else value


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet could run `text` (already cleaned) as a formula."""
    return text.startswith(_FORMULA_STARTS) or text.lstrip()[:1] in _FORMULA_AFTER_SPACES


def _display(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_cell(value: Cell) -> str:
    """A value as a CSV cell: cleaned, then a would-be formula prefixed with `'`."""
    text = _display(_clean(value))
    return "'" + text if isinstance(value, str) and looks_like_formula(text) else text


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.header for column in table.columns])
    for row in table.values():
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue().encode("utf-8")


def _write_sheet(sheet: Any, table: Table) -> None:
    """A filterable sheet: bold header, frozen panes, auto-filter, dates as dates, text that a
    spreadsheet would run as a formula kept as text."""
    sheet.title = table.title[:31]
    bold = Font(bold=True)
    for index, column in enumerate(table.columns, start=1):
        sheet.cell(row=1, column=index, value=column.header).font = bold
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    for row_index, row in enumerate(table.values(), start=2):
        for column_index, value in enumerate(row, start=1):
            if isinstance(value, bool):
                value = "yes" if value else "no"
            value = _clean(value)  # first: the formula check sees what is stored
            cell = sheet.cell(row=row_index, column=column_index, value=value)
            if isinstance(value, date):
                cell.number_format = "dd/mm/yyyy"
            elif isinstance(value, str) and looks_like_formula(value):
                cell.data_type = "s"  # text, never a formula
                cell.quotePrefix = True  # and still text once someone edits the cell
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(table.columns))
    sheet.auto_filter.ref = f"A1:{last}{len(table.rows) + 1}"


def to_xlsx(table: Table) -> bytes:
    return to_workbook(table.title, [table])


def to_workbook(
    title: str, tables: Sequence[Table], images: Sequence[tuple[str, bytes]] = ()
) -> bytes:
    """One workbook: a sheet per table, then a sheet per (name, PNG) image."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    workbook.properties.title = title
    for table in tables:
        _write_sheet(workbook.create_sheet(), table)
    for name, png in images:
        sheet = workbook.create_sheet(name[:31])
        sheet.add_image(Image(io.BytesIO(png)), "A1")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


_PAGE_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
    "th,td{border:1px solid #999;padding:4px 6px;text-align:left;vertical-align:top}"
    "th{background:#eee}figure{margin:1em 0}figure svg{max-width:100%;height:auto}"
    "@media print{body{margin:0}tr{page-break-inside:avoid}section{page-break-inside:avoid}}"
)


def _html_table(table: Table) -> str:
    escape = html.escape
    head = "".join(f"<th>{escape(c.header)}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_display(_clean(v)))}</td>" for v in row) + "</tr>"
        for row in table.values()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_page(title: str, heading: Sequence[str], body: str) -> bytes:
    escape = html.escape
    heading = [without_control_characters(line) for line in heading]
    lines = "".join(f"<p>{escape(line)}</p>" for line in heading[1:])
    page = (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_PAGE_STYLE}</style></head><body>"
        f"<h1>{escape(heading[0] if heading else title)}</h1>{lines}{body}</body></html>"
    )
    return page.encode("utf-8")


def to_html(table: Table, heading: Sequence[str]) -> bytes:
    """A printable page: heading lines, then the table."""
    return _html_page(table.title, heading, _html_table(table))


@dataclass(frozen=True)
class Chart:
    """A figure for a printable page: `svg` is markup this service rendered itself."""

    title: str
    svg: str


def to_html_report(title: str, heading: Sequence[str], parts: Sequence[Table | Chart]) -> bytes:
    """A printable report: a section per table (headed by its title) or chart, inline."""
    sections = []
    for part in parts:
        inner = part.svg if isinstance(part, Chart) else _html_table(part)
        wrapper = "figure" if isinstance(part, Chart) else "div"
        sections.append(
            f"<section><h2>{html.escape(part.title)}</h2><{wrapper}>{inner}</{wrapper}></section>"
        )
    return _html_page(title, heading, "".join(sections))


class RenderedFile(Response):
    """A file rendered in a worker thread when it is sent, not on the event loop: a large
    tracker or table as XLSX takes seconds of CPU, and `/health/live` must keep answering."""

    def __init__(self, render: Callable[[], bytes], media_type: str, headers: dict[str, str]):
        self._render: Callable[[], bytes] | None = render
        super().__init__(content=b"", media_type=media_type, headers=headers)

    def rendered(self) -> bytes:
        """The file's bytes, rendered on first use (in the calling thread)."""
        if self._render is not None:
            self.body, self._render = self._render(), None
            self.headers["content-length"] = str(len(self.body))
        return bytes(self.body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.to_thread.run_sync(self.rendered)
        await super().__call__(scope, receive, send)


def file_response(
    table: Table, chosen: ExportFormat, filename: str, heading: Sequence[str] = ()
) -> RenderedFile:
    """The table as a file named `<filename>.<format>`; `filename` should carry the date."""
    if chosen is ExportFormat.csv:
        render, media = partial(to_csv, table), f"{CSV_TYPE}; charset=utf-8"
    elif chosen is ExportFormat.xlsx:
        render, media = partial(to_xlsx, table), XLSX_TYPE
    elif chosen is ExportFormat.html:
        render, media = partial(to_html, table, heading), f"{HTML_TYPE}; charset=utf-8"
    else:
        raise ValueError("JSON is the route's own response model")
    disposition = "inline" if chosen is ExportFormat.html else "attachment"
    return RenderedFile(
        render,
        media_type=media,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}.{chosen.value}"'},
    )
