"""Reading and checking SSDA903 files: the pure parser, no database."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from reviews_api.imports.dates import parse_date, year_ending_for
from reviews_api.imports.files import FileKind, Upload, read_csv, recognise, unpack
from reviews_api.imports.plan import ImportIssue, ReadReturn
from reviews_api.imports.ssda903 import read_return

TODAY = date(2019, 1, 1)
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,"
    "URN\n"
)
REVIEWS = "CHILD,DOB,REVIEW,REVIEW_CODE\n"


def _episode(
    child: str, decom: str, dec: str = "", rne: str = "S", ls: str = "C2", rec: str = ""
) -> str:
    return f"{child},{decom},{rne},{ls},N1,U1,PR1,{dec},{rec or ('E4A' if dec else '')},,,,\n"


def _read(header: str = "", episodes: str = "", reviews: str = "") -> ReadReturn:
    files = [("header.csv", HEADER + header), ("episodes.csv", EPISODES + episodes)]
    if reviews:
        files.append(("reviews.csv", REVIEWS + reviews))
    return read_return([Upload(n, t.encode()) for n, t in files], TODAY)


def _codes(read: ReadReturn) -> list[tuple[str | None, int | None, str | None, str | None, str]]:
    return [(i.file, i.line, i.child, i.field, i.code) for i in read.issues]


def test_byte_order_marks_crlf_blank_lines_spaces_and_case_are_read() -> None:
    content = (
        "\ufeffchild , sex,DOB,ETHNIC,UPN,MOTHER,MC_DOB,EXTRA\r\n\r\n"
        " 1 , 2 ,01/02/2010,,,,,x\r\n\r\n"
    )

    read = read_csv(Upload("h.csv", content.encode()))

    assert read.kind is FileKind.header
    [(line, row)] = read.iter_rows()
    assert line == 3
    assert (row["CHILD"], row["SEX"], row["DOB"], row["EXTRA"], row["UPN"]) == (
        "1",
        "2",
        "01/02/2010",
        "x",
        "",
    )
    assert (read.blank_lines, read.unknown_columns) == (2, ["EXTRA"])


def test_windows_1252_text_is_read() -> None:
    read = read_csv(Upload("h.csv", "CHILD,SEX,DOB\nJosé,1,01/02/2010\n".encode("cp1252")))

    assert next(read.iter_rows())[1]["CHILD"] == "José"


@pytest.mark.parametrize(
    ("columns", "kind"),
    [
        ("CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB", FileKind.header),
        ("CHILD,SEX,DOB,DUC", FileKind.uasc),
        ("CHILD,DOB,REVIEW,REVIEW_CODE", FileKind.reviews),
        (EPISODES.strip() + ",LA,YEAR", FileKind.episodes),
        ("CHILD,DOB,SW_ID,SW_DECOM,SW_DEC,SW_REASON", FileKind.social_worker_episodes),
        ("NAME,ADDRESS", FileKind.unrecognised),
    ],
)
def test_files_are_recognised_by_their_columns(columns: str, kind: FileKind) -> None:
    assert recognise(columns.split(",")) is kind


def test_dates_are_dd_mm_yyyy_or_iso() -> None:
    assert parse_date("03/04/2017") == parse_date("3/4/2017") == date(2017, 4, 3)
    assert parse_date("2017-04-03") == parse_date("03/04/2017 00:00") == date(2017, 4, 3)
    for bad in ("31/02/2017", "2017/04/03", "03-04-2017", "03/04/17", "soon"):
        assert parse_date(bad) is None, bad
    assert year_ending_for(date(2017, 4, 1)) == date(2018, 3, 31)
    assert year_ending_for(date(2018, 3, 31)) == date(2018, 3, 31)


def test_a_good_child_is_planned_with_its_records() -> None:
    read = _read(
        "1,2,15/06/2010,,,,\n",
        _episode("1", "03/04/2017", "01/06/2017", ls="C1", rec="X1")
        + _episode("1", "01/06/2017", rne="P"),
        "1,15/06/2010,02/05/2017,PN1\n",
    )

    assert read.issues == []
    [child] = read.children
    assert (child.external_id, child.date_of_birth, child.sex) == ("1", date(2010, 6, 15), "female")
    assert [(e.start_on, e.end_on, e.legal_status, e.reason_ended) for e in child.episodes] == [
        (date(2017, 4, 3), date(2017, 6, 1), "C1", "X1"),
        (date(2017, 6, 1), None, "C2", None),
    ]
    assert child.episodes[0].external_id("1") == "903:1:2017-04-03"
    assert [(r.held_on, r.participation_code) for r in child.reviews] == [(date(2017, 5, 2), "PN1")]
    assert read.year_ending == date(2018, 3, 31)


@pytest.mark.parametrize(
    ("episode", "field", "code"),
    [
        (_episode("1", ""), "DECOM", "required"),
        (_episode("1", "32/01/2017"), "DECOM", "invalid_date"),
        (_episode("1", "03/04/2017", rne="X"), "RNE", "invalid_code"),
        (_episode("1", "03/04/2017", ls="Z9"), "LS", "invalid_code"),
        (_episode("1", "03/04/2017", "05/05/2017", rec="E99"), "REC", "invalid_code"),
        (_episode("1", "03/04/2017", "05/05/2017", rec=" "), "REC", "required"),
        (_episode("1", "03/04/2017", "01/04/2017"), "DEC", "dec_before_decom"),
        (_episode("1", "03/04/2009"), "DECOM", "before_birth"),
        (_episode("1", "03/04/2019"), "DECOM", "date_in_future"),
        (_episode("", "03/04/2017"), "CHILD", "required"),
        (_episode("9", "03/04/2017"), "CHILD", "child_not_in_header"),
    ],
)
def test_a_bad_episode_row_is_reported_and_its_child_not_planned(
    episode: str, field: str, code: str
) -> None:
    read = _read("1,2,15/06/2010,,,,\n2,1,15/06/2010,,,,\n", episode + _episode("2", "01/01/2018"))

    assert [(i.line, i.field, i.code) for i in read.issues] == [(2, field, code)]
    planned = ["1", "2"] if field == "CHILD" else ["2"]  # a row without child 1's id
    assert [c.external_id for c in read.children] == planned


def test_overlapping_episodes_name_the_earlier_one() -> None:
    read = _read(
        "1,2,15/06/2010,,,,\n",
        _episode("1", "03/04/2017", "01/06/2017") + _episode("1", "05/05/2017"),
    )

    assert read.issues == [
        ImportIssue(
            "episodes.csv",
            3,
            "1",
            "DECOM",
            "overlapping_episodes",
            "DECOM 05/05/2017 overlaps the episode that started on 03/04/2017 (line 2), "
            "which ends on 01/06/2017.",
            dfe_rule="501",
        ),
        # The DfE's rule 431 also flags the row: care cannot start (RNE S) while it goes on.
        ImportIssue(
            "episodes.csv",
            3,
            "1",
            "RNE",
            "s_continues_episode",
            "RNE S (care starts) on DECOM 05/05/2017, but the previous episode (line 2) ended "
            "on 01/06/2017: the child was still looked after, so this episode continues the "
            "period of care.",
            dfe_rule="431",
        ),
    ]
    assert read.children == []


def test_an_episode_after_an_open_one_overlaps_it() -> None:
    read = _read("1,2,15/06/2010,,,,\n", _episode("1", "03/04/2017") + _episode("1", "01/09/2017"))

    assert _codes(read) == [("episodes.csv", 3, "1", "DECOM", "overlapping_episodes")]
    assert read.issues[0].message.endswith("which is still open.")


@pytest.mark.parametrize(
    ("review", "field", "code"),
    [
        ("1,15/06/2010,02/05/2017,PN9", "REVIEW_CODE", "invalid_code"),
        ("1,15/06/2010,,PN1", "REVIEW", "required"),
        ("1,15/06/2010,2/5/17,PN1", "REVIEW", "invalid_date"),
        ("1,16/06/2010,02/05/2017,PN1", "DOB", "dob_mismatch"),
        ("1,15/06/2010,02/05/2016,PN1", "REVIEW", "review_outside_care"),
        ("1,15/06/2010,02/05/2017,PN0", "REVIEW_CODE", "participation_code_age"),
        ("9,15/06/2010,02/05/2017,PN1", "CHILD", "child_not_in_header"),
    ],
)
def test_a_bad_review_row_is_reported(review: str, field: str, code: str) -> None:
    read = _read("1,2,15/06/2010,,,,\n", _episode("1", "03/04/2017"), review + "\n")

    assert [(i.file, i.line, i.field, i.code) for i in read.issues] == [
        ("reviews.csv", 2, field, code)
    ]


@pytest.mark.parametrize(
    ("held_on", "code", "accepted"),
    [
        ("14/04/2017", "PN0", True),  # the day before the 4th birthday
        ("14/04/2017", "PN1", False),
        ("15/04/2017", "PN0", True),  # on the 4th birthday either is accepted
        ("15/04/2017", "PN1", True),
        ("16/04/2017", "PN0", False),
        ("16/04/2017", "PN7", True),
    ],
)
def test_pn0_only_under_4_as_through_the_api(held_on: str, code: str, accepted: bool) -> None:
    # Looked after from 1 April 2017, so the reviews fall in the 2017/18 collection year.
    read = _read(
        "1,2,15/04/2013,,,,\n", _episode("1", "01/04/2017"), f"1,15/04/2013,{held_on},{code}\n"
    )

    assert (read.issues == []) is accepted, read.issues


def test_a_review_on_the_last_day_of_care_is_inside_it() -> None:
    read = _read(
        "1,2,15/06/2010,,,,\n",
        _episode("1", "03/04/2017", "01/06/2017"),
        "1,15/06/2010,01/06/2017,PN1\n1,15/06/2010,01/06/2017,PN2\n",
    )

    assert _codes(read) == [("reviews.csv", 3, "1", "REVIEW", "duplicate_review")]


def test_header_rows_are_checked() -> None:
    read = _read("1,3,15/06/2010,,,,\n2,1,,,,,\n3,1,01/01/2010,,,,\n3,1,01/01/2010,,,,\n")

    assert _codes(read) == [
        ("header.csv", 2, "1", "SEX", "invalid_code"),
        ("header.csv", 3, "2", "DOB", "required"),
        ("header.csv", 5, "3", "CHILD", "duplicate_child"),
    ]
    assert read.children == []


def test_rows_are_counted_loaded_rejected_or_held_back() -> None:
    read = _read(
        "1,2,15/06/2010,,,,\n2,1,15/06/2010,,,,\n",
        _episode("1", "03/04/2017") + _episode("2", "03/04/2017") + _episode("2", "04/04/2017"),
        "1,15/06/2010,02/05/2017,PN1\n2,15/06/2010,02/05/2017,PN1\n",
    )

    counts = {f.name: f.counts({"1"}) for f in read.files}
    assert counts == {
        "header.csv": {"loaded": 1, "rejected": 0, "held_back": 1, "ignored": 0},
        "episodes.csv": {"loaded": 1, "rejected": 1, "held_back": 1, "ignored": 0},
        "reviews.csv": {"loaded": 1, "rejected": 0, "held_back": 1, "ignored": 0},
    }


def test_file_level_problems() -> None:
    uploads = [
        Upload("notes.txt", b"Some notes\nabout the return\n"),
        Upload("e1.csv", (EPISODES + _episode("1", "03/04/2017")).encode()),
        Upload("e2.csv", (EPISODES + _episode("1", "03/04/2017")).encode()),
        Upload("r.csv", b"CHILD,DOB,REVIEW\n1,15/06/2010,02/05/2017\n"),
    ]

    read = read_return(uploads, TODAY)

    assert {(i.file, i.code) for i in read.issues} == {
        ("notes.txt", "file_not_recognised"),
        ("e2.csv", "duplicate_file"),
        ("r.csv", "missing_columns"),
        (None, "missing_header"),
    }
    assert read.children == []


def test_zips_are_unpacked_and_broken_ones_refused() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("2018/header.csv", HEADER)
        zipped.writestr("__MACOSX/._header.csv", "junk")
    files = unpack([Upload("r.zip", archive.getvalue()), Upload("x.csv", b"a")])

    assert [f.name for f in files] == ["2018/header.csv", "x.csv"]
    with pytest.raises(ValueError, match="not a zip"):
        unpack([Upload("r.zip", b"PK\x03\x04broken")])
