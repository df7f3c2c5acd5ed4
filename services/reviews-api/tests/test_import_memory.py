"""What reading a large return holds does not grow with the return as fast as the return: the
parts of a return read in parts are packed without a second copy of the part, which part a
child's rows belong to is kept in a few bytes a child, and reading in parts reads exactly as
one reading even when Header children share a hash (bench/import_903_bench.py at 100,000
children; issue 15)."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from iro_kit.db import Database
from iro_kit.migrations import upgrade_to_head
from reviews_api.app import SPEC
from reviews_api.imports import jobs, ssda903
from reviews_api.imports.files import Upload, read_csv
from reviews_api.imports.plan import ReadReturn
from reviews_api.models import ImportUpload

TODAY = date(2025, 5, 1)
YEAR_ENDING = date(2025, 3, 31)


def _return(children: int, prefix: str = "1") -> list[Upload]:
    """A valid 2024/25 return: each child one episode from May 2024 and one review."""
    header = ["CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB"]
    episodes = [
        "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,"
        "HOME_POST,PL_POST,URN"
    ]
    reviews = ["CHILD,DOB,REVIEW,REVIEW_CODE"]
    for n in range(children):
        child = f"{prefix}{n:05d}"
        header.append(f"{child},{'MF'[n % 2]},01/01/2015,WBRI,A{n:012d},,")
        episodes.append(f"{child},01/05/2024,S,C2,N1,U1,PR1,,,,SW1A 1AA,SW1A 2AA,SC123456")
        reviews.append(f"{child},01/01/2015,20/05/2024,PN1")
    return [
        Upload(name, ("\n".join(lines) + "\n").encode())
        for name, lines in (
            ("header.csv", header),
            ("episodes.csv", episodes),
            ("reviews.csv", reviews),
        )
    ]


def _peak(work: Callable[[], Any]) -> tuple[int, Any]:
    """The most memory `work` held at once beyond what was held before it, and its result."""
    tracemalloc.start()
    try:
        result = work()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def test_the_return_is_valid() -> None:
    read = ssda903.read_return(_return(50), TODAY, YEAR_ENDING)
    assert read.issues == [] and len(read.children) == 50


def test_packing_a_part_holds_no_second_copy_of_it() -> None:
    plans = list(ssda903.read_return(_return(4000), TODAY, YEAR_ENDING).children)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        packed = ssda903._pack(plans)
        spent = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert ssda903._unpack(packed) == plans
    # The values of 4,000 plans at once, then their marshalled bytes: about 4 MB. A batch at a
    # time, and the compressor's own state: under a megabyte.
    assert spent < 1_500_000, spent


def test_which_part_a_child_is_in_takes_a_few_bytes_a_child() -> None:
    header = read_csv(_return(20_000)[0])
    tracemalloc.start()
    try:
        kept = ssda903._Parts(header, 1000)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert kept.count == 20
    assert [kept.part_of(str(100000 + n)) for n in (0, 999, 1000, 19_999)] == [0, 0, 1, 19]
    # A dict of every child's name and place: over 100 bytes a child.
    assert held < 20_000 * 30, held


def test_what_a_return_read_in_parts_holds_grows_slower_than_the_return(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ssda903, "PART", 250)
    small, large = _return(1000, "S"), _return(4000, "L")  # children no other test has named
    peaks = []
    for uploads in (small, large):
        peak, read = _peak(lambda uploads=uploads: ssda903.read_return(uploads, TODAY, YEAR_ENDING))
        assert isinstance(read.children, ssda903.PartedChildren) and read.issues == []
        del read
        peaks.append(peak)
    assert peaks[1] < 1.8 * peaks[0], peaks  # 1.9 when every Header child had a dict entry


def _everything(read: ReadReturn) -> tuple[Any, ...]:
    files = [(f.name, f.rows, f.used, f.problem_lines, dict(f.rows_by_child)) for f in read.files]
    children = list(read.children[0 : len(read.children)])
    return (read.issues, read.rejected_children, files, children, read.year_ending)


@pytest.mark.parametrize("buckets", [1, 3])
def test_children_of_one_hash_are_read_in_parts_as_one_reading(
    monkeypatch: pytest.MonkeyPatch, buckets: int
) -> None:
    """Every Header child's hash shared with others, and with children not in the Header."""
    uploads = _return(60)
    extra = b"999999,01/05/2024,S,C2,N1,U1,PR1,,,,,,\n100003,01/06/2024,S,C2,N1,U1,PR1,,,,,,\n"
    uploads[1].content += extra  # a child not in the Header; another episode of one that is
    whole = ssda903.read_return(uploads, TODAY, YEAR_ENDING)
    assert whole.issues and isinstance(whole.children, list)
    monkeypatch.setattr(ssda903, "PART", 7)
    monkeypatch.setattr(ssda903, "hash", lambda text: len(text) % buckets, raising=False)
    parted = ssda903.read_return(uploads, TODAY, YEAR_ENDING)
    assert isinstance(parted.children, ssda903.PartedChildren)
    assert _everything(parted) == _everything(whole)


def test_a_jobs_files_are_kept_as_uploaded(database_url: str) -> None:
    """On PostgreSQL the files go in by a binary COPY, a piece at a time: kept byte for byte."""
    upgrade_to_head(SPEC.script_location, database_url)
    content = bytes(range(256)) * 3000 + b"\x00end"  # over 2 pieces, every byte value
    uploads = [Upload("Année header.csv", content), Upload("empty.csv", b""), *_return(3)]

    async def main() -> list[tuple[int, str, bytes]]:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                job = await jobs.create_job(session, "support-1", uploads)
            async with database.transaction() as session:
                rows = await session.scalars(
                    select(ImportUpload)
                    .where(ImportUpload.job_id == job.id)
                    .order_by(ImportUpload.position)
                )
                return [(row.position, row.name, row.content) for row in rows]
        finally:
            await database.dispose()

    kept = asyncio.run(main())
    assert kept == [(n, u.name, u.content) for n, u in enumerate(uploads)]
    assert len(content) > 2 * jobs.COPY_PIECE
