"""The files of an SSDA903 return as uploaded: unpacked, decoded, split into rows, recognised.

Pure: bytes in, rows out. Real exports carry byte-order marks, Windows line ends, blank lines,
stray spaces and extra columns; none of them stops a file from being read.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from enum import StrEnum

MAX_UNPACKED_BYTES = 512 * 1024 * 1024  # a zip that unpacks to more is refused, not read


class FileKind(StrEnum):
    header = "header"
    episodes = "episodes"
    reviews = "reviews"
    oc2 = "oc2"
    # Accepted and not needed by this service.
    uasc = "uasc"
    oc3 = "oc3"
    ad1 = "ad1"
    placed_for_adoption = "placed_for_adoption"
    previous_permanence = "previous_permanence"
    missing = "missing"
    social_worker_episodes = "social_worker_episodes"
    deprivation_of_liberty = "deprivation_of_liberty"
    unrecognised = "unrecognised"


LOADED_KINDS = (FileKind.header, FileKind.episodes, FileKind.reviews, FileKind.oc2)


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


COLUMNS: dict[FileKind, tuple[str, ...]] = {
    FileKind.header: _columns("CHILD SEX DOB ETHNIC UPN MOTHER MC_DOB"),
    FileKind.episodes: _columns(
        "CHILD DECOM RNE LS CIN PLACE PLACE_PROVIDER DEC REC REASON_PLACE_CHANGE HOME_POST "
        "PL_POST URN"
    ),
    FileKind.reviews: _columns("CHILD DOB REVIEW REVIEW_CODE"),
    FileKind.oc2: _columns(
        "CHILD DOB SDQ_SCORE SDQ_REASON CONVICTED HEALTH_CHECK IMMUNISATIONS TEETH_CHECK "
        "HEALTH_ASSESSMENT SUBSTANCE_MISUSE INTERVENTION_RECEIVED INTERVENTION_OFFERED"
    ),
    FileKind.uasc: _columns("CHILD SEX DOB DUC"),
    FileKind.oc3: _columns("CHILD DOB IN_TOUCH ACTIV ACCOM"),
    FileKind.ad1: _columns(
        "CHILD DOB DATE_INT DATE_MATCH FOSTER_CARE NB_ADOPTR SEX_ADOPTR LS_ADOPTR"
    ),
    FileKind.placed_for_adoption: _columns(
        "CHILD DOB DATE_PLACED DATE_PLACED_CEASED REASON_PLACED_CEASED"
    ),
    FileKind.previous_permanence: _columns("CHILD DOB PREV_PERM LA_PERM DATE_PERM"),
    FileKind.missing: _columns("CHILD DOB MISSING MIS_START MIS_END"),
    FileKind.social_worker_episodes: _columns("CHILD DOB SW_ID SW_DECOM SW_DEC SW_REASON"),
    FileKind.deprivation_of_liberty: _columns("CHILD DOB DOLO_START DOLO_END"),
}

# The columns this service reads; a loaded file without one of them cannot be loaded.
NEEDED: dict[FileKind, tuple[str, ...]] = {
    FileKind.header: ("CHILD", "SEX", "DOB"),
    FileKind.episodes: ("CHILD", "DECOM", "RNE", "LS", "DEC", "REC"),
    FileKind.reviews: ("CHILD", "DOB", "REVIEW", "REVIEW_CODE"),
    FileKind.oc2: COLUMNS[FileKind.oc2],
}


@dataclass(slots=True)
class Upload:
    name: str
    content: bytes


@dataclass(slots=True)
class CsvFile:
    """One file read: its rows as `(line number, {COLUMN: stripped value})`."""

    name: str
    kind: FileKind
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    blank_lines: int = 0
    too_long_lines: list[int] = field(default_factory=list)  # more values than columns
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)


class UnreadableUpload(ValueError):
    """The upload as a whole cannot be read (a broken or oversized zip)."""


def unpack(uploads: list[Upload]) -> list[Upload]:
    """The files of the return: zips opened (folders flattened), other files as they are."""
    files: list[Upload] = []
    for upload in uploads:
        looks_zipped = upload.content[:4] == b"PK\x03\x04" or upload.name.lower().endswith(".zip")
        if not looks_zipped:
            files.append(upload)
            continue
        try:
            with zipfile.ZipFile(io.BytesIO(upload.content)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                    raise UnreadableUpload(f"{upload.name} unpacks to more than 512 MB.")
                for member in members:
                    if member.filename.rsplit("/", 1)[-1].startswith((".", "__MACOSX")):
                        continue
                    files.append(Upload(member.filename, archive.read(member)))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as exc:
            raise UnreadableUpload(f"{upload.name} is not a zip file that can be read.") from exc
    return files


def decode(content: bytes) -> str:
    """UTF-8 (with or without a byte-order mark); Windows-1252 as Excel writes it otherwise."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("cp1252")
        except UnicodeDecodeError:
            return content.decode("latin-1")


def recognise(columns: list[str]) -> FileKind:
    """The kind whose column set the file matches best (at least half of it, two columns)."""
    present = set(columns)
    best, best_score = FileKind.unrecognised, (0, 0.0)
    for kind, expected in COLUMNS.items():
        shared = len(present.intersection(expected))
        if shared < 2 or shared * 2 < len(expected):
            continue
        score = (shared, shared / len(expected))
        if score > best_score:
            best, best_score = kind, score
    return best


def read_csv(upload: Upload) -> CsvFile:
    text = decode(upload.content)
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=False)
    columns: list[str] | None = None
    parsed = CsvFile(upload.name, FileKind.unrecognised, [])
    try:
        for values in reader:
            cells = [value.strip() for value in values]
            if not any(cells):
                if columns is not None:
                    parsed.blank_lines += 1
                continue
            if columns is None:
                columns = [cell.upper() for cell in cells]
                parsed.columns = columns
                continue
            if len(cells) > len(columns) and any(cells[len(columns) :]):
                parsed.too_long_lines.append(reader.line_num)
            parsed.rows.append((reader.line_num, dict(zip(columns, cells, strict=False))))
    except csv.Error:
        # Not CSV at all (a spreadsheet, a PDF): left unrecognised, reported by the caller.
        return CsvFile(upload.name, FileKind.unrecognised, [])
    parsed.kind = recognise(parsed.columns)
    expected = COLUMNS.get(parsed.kind, ())
    parsed.unknown_columns = [c for c in parsed.columns if c and c not in expected]
    parsed.missing_columns = [c for c in NEEDED.get(parsed.kind, ()) if c not in parsed.columns]
    return parsed
