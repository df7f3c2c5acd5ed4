"""Safe archives: an SSDA903 upload is unpacked within limits counted as it is read.

The sizes a zip declares are never trusted; encrypted, damaged, empty and nested zips are
refused with a problem naming the file; a job stored badly before these checks still reads;
the error report keeps formulas as text; a file's rows are read a row at a time.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import socket
import struct
import subprocess
import sys
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from iro_kit.db import Database
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import assert_problem
from reviews_api.app import SPEC
from reviews_api.imports.files import (
    RATIO_FLOOR,
    ArchiveLimits,
    FileKind,
    UnreadableUpload,
    Upload,
    UploadTooLarge,
    read_csv,
    unpack,
)
from reviews_api.models import ImportJob

from .conftest import IRO, SUPPORT
from .imports import IMPORTS, upload, wait_for

MB = 1024 * 1024
HEADER = "CHILD,SEX,DOB\nA1,1,01/02/2010\n"


def _zip(*members: tuple[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return out.getvalue()


def _zeros_zip(path: Path, size: int, *, declare: int | None = None) -> Path:
    """A zip of one member, `size` zero bytes, streamed (never held). With `declare`, the
    member's size is patched in its local header and the central directory, as a bomb's is."""
    archive = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
    with archive, archive.open("header.csv", "w") as member:
        chunk = b"\x00" * MB
        for _ in range(size // MB):
            member.write(chunk)
    if declare is not None:
        _declare(path, declare)
    return path


def _declare(path: Path, size: int) -> None:
    data = bytearray(path.read_bytes())
    assert data[:4] == b"PK\x03\x04"
    struct.pack_into("<L", data, 22, size)  # local header: uncompressed size
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<L", data, central + 24, size)  # central directory: the same
    path.write_bytes(bytes(data))


def _zip_upload(name: str, content: bytes) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, content, "application/zip"))]


# -- unpacking: limits counted while reading ---------------------------------------------------


def test_the_unpacked_total_is_counted_as_read_over_every_zip_of_the_upload() -> None:
    limits = ArchiveLimits(unpacked_bytes=3 * MB, compression_ratio=10_000)
    first = _zip(("a.csv", b"x" * (2 * MB)))
    second = _zip(("b.csv", b"y" * (2 * MB)))

    assert [f.name for f in unpack([Upload("one.zip", first)], limits)] == ["a.csv"]
    with pytest.raises(UploadTooLarge, match=r"more than 3 MB \(reached in b\.csv in two\.zip"):
        unpack([Upload("one.zip", first), Upload("two.zip", second)], limits)
    # A file uploaded as it is was never unpacked: the request's body limit bounds it.
    plain = unpack([Upload("one.zip", first), Upload("plain.csv", b"z" * (2 * MB))], limits)
    assert [f.name for f in plain] == ["a.csv", "plain.csv"]


def test_a_member_that_declares_a_small_size_is_refused_not_believed(tmp_path: Path) -> None:
    bomb = _zeros_zip(tmp_path / "bomb.zip", 64 * MB, declare=1000)
    info = zipfile.ZipFile(bomb).infolist()[0]
    assert info.file_size == 1000  # what the zip says

    with pytest.raises(UnreadableUpload, match=r"header\.csv in bomb\.zip is damaged"):
        unpack([Upload("bomb.zip", bomb.read_bytes())], ArchiveLimits(unpacked_bytes=10 * MB))


def test_a_member_unpacking_past_the_compression_ratio_is_refused() -> None:
    bomb = _zip(("header.csv", b"A1,1,01/02/2010\n" * (RATIO_FLOOR // 8)))

    with pytest.raises(
        UploadTooLarge, match=r"header\.csv in r\.zip unpacks to more than 100 times"
    ):
        unpack([Upload("r.zip", bomb)])
    small = _zip(("header.csv", b"A1,1,01/02/2010\n" * 1000))  # under the floor: read
    assert len(unpack([Upload("r.zip", small)])[0].content) == 16_000


def test_a_zip_of_too_many_entries_is_refused_before_its_directory_is_read() -> None:
    many = _zip(*((f"f{n}.csv", b"a") for n in range(11)))

    with pytest.raises(UnreadableUpload, match="more than 10 entries"):
        unpack([Upload("r.zip", many)], ArchiveLimits(members=10))
    assert len(unpack([Upload("r.zip", many)], ArchiveLimits(members=11))) == 11


def _encrypted() -> bytes:
    data = bytearray(_zip(("header.csv", HEADER.encode())))
    data[6] |= 0x1  # the encryption flag, local header and central directory
    data[data.rfind(b"PK\x01\x02") + 8] |= 0x1
    return bytes(data)


def _bad_crc() -> bytes:
    data = bytearray(_zip(("header.csv", HEADER.encode())))
    central = data.rfind(b"PK\x01\x02")
    crc = struct.unpack_from("<L", data, central + 16)[0] ^ 0xFFFF
    struct.pack_into("<L", data, 14, crc)
    struct.pack_into("<L", data, central + 16, crc)
    return bytes(data)


def _corrupt() -> bytes:
    content = HEADER.encode() * 200
    data = bytearray(_zip(("header.csv", content)))
    central = data.rfind(b"PK\x01\x02")
    start = 30 + len("header.csv")
    data[start + 10 : central] = b"\xff" * (central - start - 10)  # the deflate stream broken
    return bytes(data)


def _cut_short() -> bytes:
    data = _zip(("header.csv", HEADER.encode() * 200))
    return data[: len(data) // 2]


def _unsupported() -> bytes:
    data = bytearray(_zip(("header.csv", HEADER.encode())))
    struct.pack_into("<H", data, 8, 9)  # deflate64, which Windows writes for big files
    struct.pack_into("<H", data, data.rfind(b"PK\x01\x02") + 10, 9)
    return bytes(data)


REFUSED = {
    "encrypted": (_encrypted, "header.csv in r.zip is encrypted"),
    "bad checksum": (_bad_crc, "header.csv in r.zip is damaged"),
    "corrupt data": (_corrupt, "header.csv in r.zip is damaged"),
    "cut short": (_cut_short, "r.zip is not a zip file that can be read"),
    "unsupported method": (_unsupported, "header.csv in r.zip is compressed by a method"),
    "zip in a zip": (lambda: _zip(("inner.zip", _zip(("h.csv", b"a")))), "inner.zip in r.zip"),
    "zip in a zip by content": (
        lambda: _zip(("inner.csv", _zip(("h.csv", b"a")))),
        "inner.csv in r.zip is a zip",
    ),
    "empty": (lambda: _zip(), "r.zip holds no files"),
    "only folders and hidden files": (
        lambda: _zip(("2018/", b""), ("__MACOSX/._h.csv", b"x")),
        "r.zip holds no files",
    ),
    "not a zip": (lambda: b"PK\x03\x04" + b"\x00" * 40, "r.zip is not a zip file"),
    "a member named with a control character": (
        # \x01: zipfile itself cuts a member's name at a NUL.
        lambda: _zip(("head\x01er.csv", HEADER.encode())),
        "r.zip holds a file whose name has a control character",
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_zip_is_a_422_naming_the_file_and_starts_no_job(api: TestClient, case: str) -> None:
    make, message = REFUSED[case]

    response = upload(api, _zip_upload("r.zip", make()))

    body = assert_problem(response, 422, "validation-error", "/files")
    assert message in body["errors"][0]["message"], body
    assert api.get(IMPORTS, headers=SUPPORT).json()["items"] == []


def test_an_upload_over_the_unpacked_limit_is_a_413_naming_the_file(api: TestClient) -> None:
    api.app.state.settings.import_max_unpacked_bytes = 2 * MB  # type: ignore[attr-defined]
    archive = _zip(("episodes.csv", os.urandom(3 * MB)), method=zipfile.ZIP_STORED)

    response = upload(api, _zip_upload("r.zip", archive))

    body = assert_problem(response, 413, "payload-too-large", "/files")
    assert "reached in episodes.csv in r.zip" in body["errors"][0]["message"]
    assert api.get(IMPORTS, headers=SUPPORT).json()["items"] == []


# -- reading: a stored job never breaks the list ----------------------------------------------


async def _store_job(database_url: str, **values: object) -> uuid.UUID:
    database = Database(database_url)
    job_id = uuid.uuid4()
    try:
        async with database.transaction() as session:
            session.add(
                ImportJob(
                    id=job_id,
                    kind="ssda903",
                    status="finished",
                    created_by="support-1",
                    created_at=datetime.now(UTC),
                    finished_at=datetime.now(UTC),
                    **values,
                )
            )
    finally:
        await database.dispose()
    return job_id


@pytest.mark.parametrize(
    ("files", "summary"),
    [
        # What an empty zip left before it was refused: a summary without row counts.
        (
            [],
            {
                "rows": {},
                "children": {"created": 0, "updated": 0, "unchanged": 0, "rejected": 0},
                "episodes": {"created": 0, "updated": 0},
                "reviews": {"created": 0, "updated": 0},
                "outcomes": {"created": 0, "updated": 0},
                "problems": {"total": 0, "by_code": {}},
            },
        ),
        ([{"bytes": 3}, "junk", {"name": "h.csv", "rows": "many"}], {"rows": "none"}),
    ],
)
def test_a_job_stored_badly_still_reads(
    api: TestClient, database_url: str, files: object, summary: object
) -> None:
    job_id = asyncio.run(_store_job(database_url, files=files, summary=summary))

    listed = api.get(IMPORTS, headers=IRO)
    one = api.get(f"{IMPORTS}/{job_id}", headers=IRO)

    assert listed.status_code == 200, listed.text
    assert one.status_code == 200, one.text
    assert [job["id"] for job in listed.json()["items"]] == [str(job_id)]
    assert one.json()["status"] == "finished"


def test_an_empty_return_gets_a_summary_of_zeros(api: TestClient) -> None:
    header_only = b"CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
    response = upload(api, [("files", ("header.csv", header_only, "text/csv"))])
    job = wait_for(api, response.headers["Location"])

    assert job["summary"]["rows"] == {
        "rows": 0,
        "loaded": 0,
        "rejected": 0,
        "held_back": 0,
        "ignored": 0,
    }
    assert api.get(IMPORTS, headers=IRO).status_code == 200


# -- the text rule (iro_kit.text): PostgreSQL cannot store NUL, so no file name or cell with one
# reaches a row; on PostgreSQL these were a 500 and a job failed as a whole.


def test_a_file_named_with_a_control_character_is_a_422_and_starts_no_job(api: TestClient) -> None:
    # Written by hand: httpx would percent-encode the NUL, a browser or curl need not.
    boundary = "iro-test-boundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="head\x00er.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
        f"{HEADER}\r\n--{boundary}--\r\n"
    ).encode()
    response = api.post(
        f"{IMPORTS}/ssda903",
        content=body,
        headers={**SUPPORT, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    body = assert_problem(response, 422, "validation-error", "/files")
    assert "control character" in body["errors"][0]["message"]
    assert api.get(IMPORTS, headers=SUPPORT).json()["items"] == []


def test_a_cell_with_a_control_character_holds_back_only_its_row(api: TestClient) -> None:
    header = (
        "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
        "NUL\x001,1,01/02/2010,WBRI,,,\n"
        "NUL2,1,01/02/2010,WB\x00RI,,,\n"
        "CLEAN3,1,01/02/2010,WBRI,,,\n"
    )
    # A Header alone: the collection year is named (SEX 1/2 is a code of 2017/18, not of the
    # year of today, which a return without episodes would be read as).
    files = [("files", ("header.csv", header.encode(), "text/csv"))]
    response = upload(api, files, collection_year="2018")
    job = wait_for(api, response.headers["Location"])

    assert job["status"] == "finished", job
    report = api.get(job["links"]["errors_csv"], headers=SUPPORT)
    rows = list(csv.reader(io.StringIO(report.text)))[1:]
    assert [(line, child, field, code) for _, line, child, field, _, _, code, _ in rows] == [
        ("2", "", "CHILD", "control_character"),
        ("3", "NUL2", "ETHNIC", "control_character"),
    ]
    assert "\x00" not in report.text
    assert job["summary"]["rows"]["loaded"] == 1


# -- the error report --------------------------------------------------------------------------


def test_the_error_report_csv_keeps_formulas_in_file_and_child_as_text(api: TestClient) -> None:
    header = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n=1+1,7,01/02/2010,,,,\n"
    files = [("files", ("=HYPERLINK(A1).csv", header.encode(), "text/csv"))]
    response = upload(api, files, collection_year="2018")
    job = wait_for(api, response.headers["Location"])

    report = api.get(job["links"]["errors_csv"], headers=SUPPORT)

    rows = list(csv.reader(io.StringIO(report.text)))
    assert rows[0] == ["file", "line", "child", "field", "severity", "dfe_rule", "code", "message"]
    [(file, line, child, field, severity, rule, code, _)] = rows[1:]
    assert (file, line, child, field, severity, rule, code) == (
        "'=HYPERLINK(A1).csv",
        "2",
        "'=1+1",
        "SEX",
        "error",
        "101",
        "invalid_code",
    )
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# -- rows read a row at a time -----------------------------------------------------------------


def test_a_file_is_read_a_row_at_a_time() -> None:
    rows = 100_000
    columns = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
    content = (columns + "".join(f"{n},1,01/02/2010,,,,\n" for n in range(rows))).encode()

    tracemalloc.start()
    try:
        read = read_csv(Upload("h.csv", content))
        seen = sum(1 for _ in read.iter_rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (read.kind, read.row_count, seen) == (FileKind.header, rows, rows)
    # Rows held as dicts took ~400 bytes a row (40 MB here); a row at a time, almost nothing.
    assert peak < len(content), f"{peak / MB:.1f} MB for a {len(content) / MB:.1f} MB file"


# -- the acceptance: a real server refusing zip bombs ------------------------------------------


def _rss(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {
        # 1 GB of zeros, about 1 MB zipped, declaring 1,000 bytes (local header and directory).
        "declared small": _zeros_zip(folder / "declared.zip", 1024 * MB, declare=1000),
        # 400 MB of zeros declared honestly: under the old fixed 512 MB, over the setting.
        "declared honestly": _zeros_zip(folder / "honest.zip", 400 * MB),
    }


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """reviews-api as a deployment runs it, with an unpacked limit of 32 MB; the ratio limit
    is set out of the way so that the streamed total is what refuses the honest bomb."""
    if not Path("/proc/self/status").exists():
        pytest.skip("reads resident memory from /proc (Linux)")
    upgrade_to_head(SPEC.script_location, database_url)
    port = _free_port()
    env = {
        **os.environ,
        "REVIEWS_DATABASE_URL": database_url,
        "REVIEWS_IMPORT_MAX_UNPACKED_BYTES": str(32 * MB),
        "REVIEWS_IMPORT_MAX_COMPRESSION_RATIO": "100000",
        "REVIEWS_LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "server.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "reviews_api", "serve", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/reviews/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield process, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_zip_bombs_are_refused_by_a_real_server_within_200_mb(
    server: tuple[subprocess.Popen[bytes], str], bombs: dict[str, Path]
) -> None:
    process, url = server
    headers = {**SUPPORT}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        # Warm up: the first upload loads the code that unpacks and answers.
        warm_zip = _zip(("h.csv", HEADER.encode() + b"a" * MB))  # a return's file, to be read
        warm = client.post(f"{IMPORTS}/ssda903", files=_zip_upload("w.zip", warm_zip))
        assert warm.status_code == 202, warm.text
        figures = {}
        for name, path in bombs.items():
            before = _rss(process.pid)
            response = client.post(
                f"{IMPORTS}/ssda903", files=_zip_upload(path.name, path.read_bytes())
            )
            peak = _rss(process.pid, "VmHWM")  # the most the process has held, ever
            assert response.status_code in {413, 422}, (name, response.text)
            assert path.name in response.json()["errors"][0]["message"]
            figures[name] = (response.status_code, (peak - before) / MB)
        listed = client.get(IMPORTS).json()["items"]
    print("zip bombs refused (status, MB grown):", figures)
    assert figures["declared small"][0] == 422  # damaged: it unpacks past what it declares
    assert figures["declared honestly"][0] == 413  # stopped at 32 MB as it was read
    assert all(grown < 200 for _, grown in figures.values()), figures
    assert len(listed) == 1  # the warm-up's job: neither bomb started one
