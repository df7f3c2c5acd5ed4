"""Row-by-row checks shared by every SSDA903 file: the child, dates, codes, the Header.

Every problem names the file, the line, the child, the column and a stable code; a problem in
any of a child's rows marks the child rejected.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from iro_kit.text import refused_character
from reviews_api.imports.collection import CollectionYear, collection_year, year_containing
from reviews_api.imports.dates import DATE_SHAPE, format_date, parse_date
from reviews_api.imports.files import LOADED_KINDS, CsvFile, FileKind, Row
from reviews_api.imports.plan import FileReport, ImportIssue

MAX_CHILD_ID = 100  # child.external_id


@dataclass(slots=True)
class HeaderRow:
    date_of_birth: date | None
    sex: str | None
    file: str
    line: int


class RowChecker:
    # A date after the end of the collection year: the DfE rule for each column that has one
    # (reviews have none; this service refuses them, as the DfE's collection would).
    AFTER_YEAR_RULES = {
        (FileKind.header, "DOB"): "301",
        (FileKind.episodes, "DECOM"): "354",
        (FileKind.episodes, "DEC"): "385",
        (FileKind.reviews, "REVIEW"): None,
    }
    # A date that is not a date (DfE: "not a valid date"); blank too where the DfE says "or blank".
    INVALID_DATE_RULES = {
        (FileKind.header, "DOB"): "102",
        (FileKind.episodes, "DECOM"): "141",
        (FileKind.episodes, "DEC"): "147",
        (FileKind.reviews, "REVIEW"): "166",
    }
    BLANK_DATE_RULES = {(FileKind.header, "DOB"): "102", (FileKind.reviews, "REVIEW"): "166"}
    # A row of a child the Header does not hold; a DOB that disagrees with the Header's.
    NOT_IN_HEADER_RULES = {
        FileKind.episodes: "INT03",
        FileKind.reviews: "INT08",
        FileKind.oc2: "INT05",
    }
    DOB_MISMATCH_RULES = {FileKind.reviews: "INT17", FileKind.oc2: "INT14"}

    def __init__(self, today: date) -> None:
        self.today = today
        self.year: CollectionYear = collection_year(year_containing(today))
        self.issues: list[ImportIssue] = []
        self.rejected: set[str] = set()
        self.reports: dict[str, FileReport] = {}
        # Reading a part of a large return (ssda903.read_return): only the rows of the part's
        # children are read, and the file-level problems only with the first part.
        self.wanted: Callable[[str], bool] | None = None
        self.first_part = True

    # -- problems --------------------------------------------------------------------------

    def _issue(
        self,
        file: CsvFile,
        line: int,
        child: str | None,
        column: str | None,
        code: str,
        msg: str,
        *,
        rule: str | None = None,
        warning: bool = False,
    ) -> None:
        """A problem in a row: an error holds the child back; a warning only reports."""
        issue = ImportIssue(file.name, line, child or None, column, code, msg, rule, warning)
        self.issues.append(issue)
        if warning:
            return
        self.reports[file.name].problem_lines.add(line)
        if child:
            self.rejected.add(child)

    def _file_issue(self, file: CsvFile, code: str, message: str) -> None:
        if self.first_part:
            self.issues.append(ImportIssue(file.name, 1, None, None, code, message))

    def _rows(self, file: CsvFile) -> Iterator[tuple[int, Row]]:
        """The file's rows, or the part's rows of it: those whose CHILD is a child of the part."""
        return file.iter_rows(self.wanted)

    # -- files -----------------------------------------------------------------------------

    def _choose(self, files: list[CsvFile]) -> dict[FileKind, CsvFile]:
        """One file of each loaded kind; notes and problems for the others."""
        chosen: dict[FileKind, CsvFile] = {}
        for file in files:
            report = FileReport(
                file.name, file.kind, file.row_count, file.blank_lines, file.unknown_columns
            )
            self.reports[file.name] = report
            report.note = self._refusal(file, chosen)
            if report.note is None and file.kind in LOADED_KINDS:
                chosen[file.kind] = file
                report.used = True
                if file.unknown_columns:
                    report.note = f"Columns not used: {', '.join(file.unknown_columns)}."
        if FileKind.header not in chosen and any(f.kind in LOADED_KINDS for f in files):
            message = "The return has no usable Header file: no child can be loaded without it."
            if self.first_part:
                self.issues.append(ImportIssue(None, None, None, None, "missing_header", message))
        for file in chosen.values():
            for line, child in file.too_long_lines:
                if self.wanted is not None and not self.wanted(child):
                    continue
                message = "The row has more values than the file has columns."
                self._issue(file, line, child, None, "too_many_values", message)
        return chosen

    def _refusal(self, file: CsvFile, chosen: dict[FileKind, CsvFile]) -> str | None:
        """Why the file is not loaded (None if it is, or is a file not needed)."""
        kind = file.kind.value
        if file.kind is FileKind.unrecognised:
            columns = ", ".join(file.columns[:8]) or "none"
            self._file_issue(
                file,
                "file_not_recognised",
                f"The columns match no SSDA903 file (Header, Episodes, Reviews...): {columns}.",
            )
            return "Not recognised as an SSDA903 file by its columns; ignored."
        if file.kind not in LOADED_KINDS:
            return f"{kind} file: accepted, not needed by this service."
        if file.missing_columns:
            missing = ", ".join(file.missing_columns)
            self._file_issue(file, "missing_columns", f"The {kind} file lacks {missing}.")
            return "Not loaded: columns missing."
        if file.kind in chosen:
            first = chosen[file.kind].name
            message = f"{first} is already this return's {kind} file."
            self._file_issue(file, "duplicate_file", message)
            return f"Not loaded: a second {kind} file in one return."
        return None

    # -- shared field checks ---------------------------------------------------------------

    def _child(self, file: CsvFile, line: int, row: Row) -> str | None:
        child = row.get("CHILD", "")
        if refused_character(row.joined(), single_line=True) is None:
            columns: Iterator[tuple[str, str]] = iter(())  # no value holds one: nothing to name
        else:
            columns = row.items()
        child_is_text = refused_character(child, single_line=True) is None
        for column, value in columns:
            # One rule for text on both back ends (iro_kit.text): PostgreSQL cannot store NUL,
            # so a row holding a control character is held back here, alike on SQLite.
            character = refused_character(value, single_line=True)
            if character is not None:
                clean = child if child_is_text else None  # never a raw id
                message = (
                    f"{column} holds the control character U+{ord(character):04X}; "
                    "the row is not read."
                )
                self._issue(file, line, clean, column, "control_character", message)
                return None
        child = sys.intern(child)  # one string for a child's every row, plan and count
        self.reports[file.name].rows_by_child[child] += 1
        if not child:
            self._issue(file, line, None, "CHILD", "required", "CHILD is required.")
            return None
        if len(child) > MAX_CHILD_ID:
            self._issue(
                file, line, child, "CHILD", "too_long", f"CHILD is over {MAX_CHILD_ID} characters."
            )
            return None
        return child

    def _date(
        self, file: CsvFile, line: int, child: str, row: Row, column: str, *, need: bool
    ) -> date | None:
        value = row.get(column, "")
        if not value:
            if need:
                rule = self.BLANK_DATE_RULES.get((file.kind, column))
                message = f"{column} is required."
                self._issue(file, line, child, column, "required", message, rule=rule)
            return None
        parsed = parse_date(value)
        if parsed is None:
            rule = self.INVALID_DATE_RULES.get((file.kind, column))
            message = _not_a_date(column, value)
            self._issue(file, line, child, column, "invalid_date", message, rule=rule)
        elif parsed > self.today:
            # A future date after the collection year also breaks that year-end rule.
            after_year = parsed > self.year.end
            rule = self.AFTER_YEAR_RULES.get((file.kind, column)) if after_year else None
            message = f"{column} {value} is in the future."
            self._issue(file, line, child, column, "date_in_future", message, rule=rule)
            return None
        elif parsed > self.year.end and (file.kind, column) in self.AFTER_YEAR_RULES:
            self._issue(
                file,
                line,
                child,
                column,
                "after_collection_year",
                f"{column} {value} is after the end of the {self.year.label} collection year "
                f"({format_date(self.year.end)}).",
                rule=self.AFTER_YEAR_RULES[file.kind, column],
            )
            return None
        return parsed

    def _code(
        self,
        file: CsvFile,
        line: int,
        child: str,
        row: Row,
        column: str,
        codes: frozenset[str],
        *,
        required: tuple[str | None, str] | None = None,  # (DfE rule, why) when sometimes needed
        rule: str | None = None,  # the DfE rule a value not in `codes` breaks
    ) -> str | None:
        value = row.get(column, "").upper()
        if not value:
            rule, why = required or (None, "")
            message = f"{column} is required{why}."
            self._issue(file, line, child, column, "required", message, rule=rule)
            return None
        if value not in codes:
            self._issue(
                file,
                line,
                child,
                column,
                "invalid_code",
                f"{column} {value!r} is not one of {', '.join(sorted(codes))}.",
                rule=rule,
            )
            return None
        return sys.intern(value)  # a few codes, in many plans

    def _known_child(
        self,
        file: CsvFile,
        line: int,
        child: str,
        row: Row,
        header: dict[str, HeaderRow],
        has_header: bool,
        *,
        dob_column: str | None,
    ) -> HeaderRow | None:
        """The child's Header row; a problem if missing, or if the row's DOB disagrees."""
        known = header.get(child)
        if known is None:
            if has_header:
                self._issue(
                    file,
                    line,
                    child,
                    "CHILD",
                    "child_not_in_header",
                    f"Child {child} is not in the Header file.",
                    rule=self.NOT_IN_HEADER_RULES.get(file.kind),
                )
            return None
        if dob_column is not None and known.date_of_birth is not None:
            dob = self._date(file, line, child, row, dob_column, need=True)
            if dob is not None and dob != known.date_of_birth:
                self._issue(
                    file,
                    line,
                    child,
                    dob_column,
                    "dob_mismatch",
                    f"DOB {format_date(dob)} disagrees with the Header's "
                    f"{format_date(known.date_of_birth)} ({known.file} line {known.line}).",
                    rule=self.DOB_MISMATCH_RULES.get(file.kind),
                )
        return known

    # -- Header ----------------------------------------------------------------------------

    def _header(self, file: CsvFile | None) -> dict[str, HeaderRow]:
        header: dict[str, HeaderRow] = {}
        if file is None:
            return header
        for line, row in self._rows(file):
            child = self._child(file, line, row)
            if child is None:
                continue
            if child in header:
                first = header[child]
                self._issue(
                    file,
                    line,
                    child,
                    "CHILD",
                    "duplicate_child",
                    f"Child {child} is already in the Header file at line {first.line}.",
                    rule="INT32",
                )
                continue
            sex = self._sex(file, line, child, row.get("SEX", "").upper())
            dob = self._date(file, line, child, row, "DOB", need=True)
            header[child] = HeaderRow(dob, sex, file.name, line)
        return header

    def _sex(self, file: CsvFile, line: int, child: str, sex: str) -> str | None:
        """SEX in the codes of the return's collection year (DfE rule 101)."""
        codes = self.year.sex_codes
        if sex in codes:
            if codes[sex] == "unknown":  # DfE rule 232: a query, not an error
                message = f"SEX is recorded as unknown ({sex})."
                self._issue(
                    file, line, child, "SEX", "sex_unknown", message, rule="232", warning=True
                )
            return codes[sex]
        message = (
            f"SEX {sex!r} is not a {self.year.label} code: the {self.year.label} return "
            f"records SEX as {self.year.sex_code_list()}."
            if sex
            else f"SEX is required: the {self.year.label} return records it as "
            f"{self.year.sex_code_list()}."
        )
        self._issue(file, line, child, "SEX", "invalid_code", message, rule="101")
        return None


def _not_a_date(column: str, value: str) -> str:
    """Why `value` is not a date: not written dd/mm/yyyy, or written so but not a real day."""
    written = DATE_SHAPE.fullmatch(value)
    if written:
        return f"{column} {value!r} is written as a date but no such day exists."
    return f"{column} {value!r} is not a date written dd/mm/yyyy."
