"""The files of an SSDA903 return as uploaded: unpacked, decoded, split into rows, recognised.

Pure: bytes in, rows out. Real exports carry byte-order marks, Windows line ends, blank lines,
stray spaces and extra columns; none of them stops a file from being read.

A zip is read member by member in chunks, counting the bytes it really unpacks to (the sizes
a zip declares are never trusted): an upload whose zips together unpack to more than the
limit, a member
that unpacks to more than `compression_ratio` times its compressed size, or a zip of more than
`members` entries is refused as it is read, before it is held in memory. So is a zip that is
encrypted, damaged (a bad checksum, cut short), compressed by a method not supported, empty,
or that holds another zip. A file's rows are read twice from its bytes (once to count and
recognise it, once by whoever checks them), a row at a time: a return is never held as rows.
"""

from __future__ import annotations

import codecs
import csv
import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from iro_kit.text import refused_character, without_control_characters

if TYPE_CHECKING:
    from reviews_api.settings import Settings

MB = 1024 * 1024
READ_CHUNK = 64 * 1024
RATIO_FLOOR = 1 * MB  # a member smaller than this is never refused for its ratio
SUPPORTED_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_ENCRYPTED = 0x1 | 0x40  # general purpose flag bits: encrypted, strongly encrypted
_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first bytes (with members, empty)


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """What one upload may unpack to (REVIEWS_IMPORT_MAX_* settings)."""

    unpacked_bytes: int = 200 * MB  # all the zips of one upload, together
    compression_ratio: float = 100.0  # unpacked / compressed, per member
    members: int = 100  # entries of one zip, folders included

    @classmethod
    def from_settings(cls, settings: Settings) -> ArchiveLimits:
        return cls(
            settings.import_max_unpacked_bytes,
            settings.import_max_compression_ratio,
            settings.import_max_archive_members,
        )


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


class Row:
    """One data row: its values by column name, `""` for a column the row stops short of.

    A list of the row's values and the file's column index, not a dict per row."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, tuple[int, ...]], values: list[str]) -> None:
        self._index = index
        self._values = values

    def get(self, column: str, default: str = "") -> str:
        # A column named twice: the last one the row reaches, as a dict of the row would say.
        for position in self._index.get(column, ()):
            if position < len(self._values):
                return self._values[position]
        return default

    def items(self) -> Iterator[tuple[str, str]]:
        """(column, value) for each named column the row reaches."""
        for column in self._index:
            value = self.get(column)
            if value:
                yield column, value

    def joined(self) -> str:
        """Every value of the row, named columns or not, in one string (for a check that
        finds nothing in any of them at once)."""
        return ",".join(self._values)

    def __getitem__(self, column: str) -> str:
        for position in self._index[column]:
            if position < len(self._values):
                return self._values[position]
        raise KeyError(column)


def _index(columns: list[str]) -> dict[str, tuple[int, ...]]:
    """Each column's positions, last first."""
    index: dict[str, tuple[int, ...]] = {}
    for position, column in enumerate(columns):
        index[column] = (position, *index.get(column, ()))
    return index


@dataclass(slots=True)
class CsvFile:
    """One file read: what it is and how many rows it has. Its rows, `(line number, Row)` with
    stripped values, are read again from its bytes by `iter_rows()`, one at a time."""

    name: str
    kind: FileKind
    columns: list[str]
    content: bytes = field(default=b"", repr=False)
    encoding: str = "utf-8-sig"
    row_count: int = 0
    blank_lines: int = 0
    # (line, CHILD) of each row with more values than the file has columns.
    too_long_lines: list[tuple[int, str]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)

    def iter_rows(self, wanted: Callable[[str], bool] | None = None) -> Iterator[tuple[int, Row]]:
        """`wanted`: only the rows whose CHILD it accepts (checked before the row is made)."""
        index = _index(self.columns)
        header_seen = False
        if wanted is None:
            for line, cells in _records(self.content, self.encoding):
                if not any(cells):
                    continue
                if not header_seen:
                    header_seen = True
                    continue
                yield line, Row(index, cells)
            return
        child_at = index.get("CHILD", ())
        reader = csv.reader(
            io.TextIOWrapper(io.BytesIO(self.content), encoding=self.encoding, newline="")
        )
        for values in reader:
            if header_seen:
                child = ""  # as Row.get("CHILD") reads it
                for position in child_at:
                    if position < len(values):
                        child = values[position].strip()
                        break
                if not wanted(child):
                    continue
            cells = [value.strip() for value in values]
            if not any(cells):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield reader.line_num, Row(index, cells)


class UnreadableUpload(ValueError):
    """The upload as a whole cannot be read (a broken, encrypted or empty zip): a 422."""


class UploadTooLarge(UnreadableUpload):
    """The upload unpacks to more than its limits allow: a 413."""


# What zipfile and its decompressors raise for an archive they cannot read.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    NotImplementedError,
    EOFError,
    OSError,
    RuntimeError,
    ValueError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
)
_ENTRY_BYTES = 2048  # the most a central directory entry of a real zip needs, name included


def unpack(uploads: list[Upload], limits: ArchiveLimits | None = None) -> list[Upload]:
    """The files of the return: zips opened (folders flattened), other files as they are.

    Raises UnreadableUpload (UploadTooLarge for a limit) naming the file and the reason."""
    return _Unpacker(limits or ArchiveLimits()).unpack(uploads)


def _looks_zipped(upload: Upload) -> bool:
    return upload.content.startswith(_ZIP_STARTS) or upload.name.lower().endswith(".zip")


class _Unpacker:
    def __init__(self, limits: ArchiveLimits) -> None:
        self.limits = limits
        self.total = 0  # bytes unpacked so far, all files of the upload

    def unpack(self, uploads: list[Upload]) -> list[Upload]:
        files: list[Upload] = []
        for upload in uploads:
            if _looks_zipped(upload):
                files.extend(self._unzip(upload))
            else:  # as uploaded: the request's body limit bounds it
                files.append(upload)
        return files

    def _count(self, size: int, where: str) -> None:
        self.total += size
        if self.total > self.limits.unpacked_bytes:
            raise UploadTooLarge(
                f"The zips of the upload unpack to more than {_size(self.limits.unpacked_bytes)} "
                f"(reached in {where})."
            )

    def _unzip(self, upload: Upload) -> list[Upload]:
        name = upload.name
        self._check_directory(upload)
        try:
            archive = zipfile.ZipFile(io.BytesIO(upload.content))
        except _ZIP_ERRORS as exc:
            raise UnreadableUpload(f"{name} is not a zip file that can be read.") from exc
        with archive:
            members = archive.infolist()
            if len(members) > self.limits.members:
                raise UnreadableUpload(self._too_many(name))
            files = []
            for member in members:
                if member.is_dir():
                    continue
                if member.filename.rsplit("/", 1)[-1].startswith((".", "__MACOSX")):
                    continue
                if refused_character(member.filename, single_line=True):
                    raise UnreadableUpload(
                        f"{without_control_characters(name)} holds a file whose name has a "
                        "control character."
                    )
                files.append(Upload(member.filename, self._read(archive, member, name)))
        if not files:
            raise UnreadableUpload(f"{name} holds no files: zip the CSV files of the return.")
        return files

    def _too_many(self, name: str) -> str:
        return (
            f"{name} holds more than {self.limits.members} entries; a return is a dozen or so "
            "CSV files."
        )

    def _check_directory(self, upload: Upload) -> None:
        """Refuse a zip whose central directory is too big before zipfile reads all of it."""
        declared = _directory_of(upload.content)
        if declared is None:
            return  # no end record: zipfile refuses it
        entries, size = declared
        if entries > self.limits.members or size > self.limits.members * _ENTRY_BYTES:
            raise UnreadableUpload(self._too_many(upload.name))

    def _read(self, archive: zipfile.ZipFile, member: zipfile.ZipInfo, zip_name: str) -> bytes:
        """The member's bytes, counted as they are unpacked (never its declared size)."""
        where = f"{member.filename} in {zip_name}"
        if member.flag_bits & _ENCRYPTED:
            raise UnreadableUpload(f"{where} is encrypted: zip the return without a password.")
        if member.compress_type not in SUPPORTED_METHODS:
            raise UnreadableUpload(
                f"{where} is compressed by a method not supported (number "
                f"{member.compress_type}): zip it with ordinary (deflate) compression."
            )
        if member.filename.lower().endswith(".zip"):
            raise UnreadableUpload(f"{where} is a zip inside the zip: zip the CSV files alone.")
        out = io.BytesIO()
        size, compressed = 0, max(member.compress_size, 1)
        try:
            with archive.open(member) as stream:
                while chunk := stream.read(READ_CHUNK):
                    if size == 0 and chunk.startswith(_ZIP_STARTS):
                        raise UnreadableUpload(
                            f"{where} is a zip inside the zip: zip the CSV files alone."
                        )
                    size += len(chunk)
                    self._count(len(chunk), where)
                    if size > RATIO_FLOOR and size > self.limits.compression_ratio * compressed:
                        raise UploadTooLarge(
                            f"{where} unpacks to more than {self.limits.compression_ratio:g} "
                            "times its compressed size; it is refused as a zip bomb."
                        )
                    out.write(chunk)
        except UnreadableUpload:
            raise
        except zipfile.BadZipFile as exc:
            if "CRC" in str(exc):
                raise UnreadableUpload(
                    f"{where} is damaged: what it unpacks to does not match its checksum "
                    "and declared size."
                ) from exc
            raise UnreadableUpload(f"{where} is damaged: {exc}.") from exc
        except _ZIP_ERRORS as exc:
            raise UnreadableUpload(f"{where} is damaged or cut short; zip it again.") from exc
        return out.getvalue()


def _directory_of(content: bytes) -> tuple[int, int] | None:
    """(entries, bytes) of a zip's central directory, as its end record declares them."""
    at = content.rfind(b"PK\x05\x06", max(0, len(content) - 22 - 0xFFFF))
    if at < 0 or len(content) < at + 22:
        return None
    entries, size = struct.unpack_from("<HL", content, at + 10)
    locator = at - 20
    zip64 = locator >= 0 and content[locator : locator + 4] == b"PK\x06\x07"
    if zip64 and (entries == 0xFFFF or size == 0xFFFFFFFF):  # the real figures are elsewhere
        (offset,) = struct.unpack_from("<Q", content, locator + 8)
        if content[offset : offset + 4] == b"PK\x06\x06" and len(content) >= offset + 48:
            entries, size = struct.unpack_from("<QQ", content, offset + 32)
    return entries, size


def _size(limit: int) -> str:
    return f"{limit / MB:g} MB" if limit >= MB else f"{limit:,} bytes"


def encoding_of(content: bytes) -> str:
    """UTF-8 (with or without a byte-order mark); Windows-1252 as Excel writes it otherwise.

    Checked a megabyte at a time: the text is never held decoded."""
    view = memoryview(content)
    for encoding in ("utf-8-sig", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(view), MB):
                decoder.decode(view[start : start + MB])
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"


def _records(content: bytes, encoding: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record, `(line number, stripped values)`, decoded as it is read."""
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline=""))
    for values in reader:
        yield reader.line_num, [value.strip() for value in values]


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
    """The file recognised and its rows counted, in one pass that keeps no row."""
    encoding = encoding_of(upload.content)
    parsed = CsvFile(upload.name, FileKind.unrecognised, [], upload.content, encoding)
    index: dict[str, tuple[int, ...]] = {}
    try:
        for line, cells in _records(upload.content, encoding):
            if not any(cells):
                if parsed.columns:
                    parsed.blank_lines += 1
                continue
            if not parsed.columns:
                # Column names are written into the job: stored alike on both back ends.
                parsed.columns = [without_control_characters(cell).upper() for cell in cells]
                index = _index(parsed.columns)
                continue
            parsed.row_count += 1
            width = len(parsed.columns)
            if len(cells) > width and any(cells[width:]):
                parsed.too_long_lines.append((line, Row(index, cells).get("CHILD")))
    except csv.Error:
        # Not CSV at all (a spreadsheet, a PDF): left unrecognised, reported by the caller.
        return CsvFile(upload.name, FileKind.unrecognised, [])
    parsed.kind = recognise(parsed.columns)
    expected = COLUMNS.get(parsed.kind, ())
    parsed.unknown_columns = [c for c in parsed.columns if c and c not in expected]
    parsed.missing_columns = [c for c in NEEDED.get(parsed.kind, ()) if c not in parsed.columns]
    return parsed
