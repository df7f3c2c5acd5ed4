"""The DfE's rules on reviews and the Header (`dfe_reviews.py`), and the checks on single values
of issue 13: dates against the collection year, SEX by year, dates that do not exist, rule 148.

Each case is a hand-made return read in-process: children `B*` break the rule, children `E*`
sit on its edge and pass. The same returns (`CASES`, written out by `Case.write`) were run
through the DfE's validator (csc-validator-be-903 0.1.17, that year's rules or the nearest it
has), which flags the same children for each DfE rule named here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from reviews_api.imports.files import Upload
from reviews_api.imports.plan import ReadReturn
from reviews_api.imports.ssda903 import read_return

TODAY = date(2027, 6, 1)  # after every year below: a date after the year is not "in the future"
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,"
    "URN\n"
)
REVIEWS = "CHILD,DOB,REVIEW,REVIEW_CODE\n"
DOB = "01/05/2012"  # 11 or 12 in 2024/25: reviewed with PN1


def child(child: str, dob: str = DOB, sex: str = "M") -> str:
    return f"{child},{sex},{dob},WBRI,,,\n"


def ep(
    child: str,
    decom: str,
    dec: str = "",
    rec: str | None = None,
    rne: str = "S",
    ls: str = "C2",
    place: str | None = None,
) -> str:
    """An episode in foster care (a short break: not with long-term foster carers, rule 384;
    from 18: V2 in K2, rule 359); REC E4A (returned home) when it ends, unless given."""
    rec = ("E4A" if dec else "") if rec is None else rec
    place = place or {"V3": "U3", "V4": "U3", "V2": "K2"}.get(ls, "U1")
    return f"{child},{decom},{rne},{ls},N1,{place},PR1,{dec},{rec},,,,\n"


def rv(child: str, held: str, code: str = "PN1", dob: str = DOB) -> str:
    return f"{child},{dob},{held},{code}\n"


@dataclass(frozen=True)
class Case:
    year: int | None  # the year the collection ends in; None: inferred from the dates
    header: list[str]
    episodes: list[str]
    reviews: list[str] = field(default_factory=list)
    today: date = TODAY

    def write(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "header.csv").write_text(HEADER + "".join(self.header))
        (folder / "episodes.csv").write_text(EPISODES + "".join(self.episodes))
        if self.reviews:
            (folder / "reviews.csv").write_text(REVIEWS + "".join(self.reviews))

    def read(self, folder: Path) -> ReadReturn:
        self.write(folder)
        uploads = [Upload(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]
        ending = None if self.year is None else date(self.year, 3, 31)
        return read_return(uploads, self.today, ending)


Issue = tuple[str | None, int | None, str | None, str | None, str, str | None, str]


def issues(read: ReadReturn) -> list[Issue]:
    return [(i.file, i.line, i.child, i.field, i.code, i.dfe_rule, i.severity) for i in read.issues]


def message(read: ReadReturn, child: str, code: str) -> str:
    [found] = [i.message for i in read.issues if i.child == child and i.code == code]
    return found


def loaded(read: ReadReturn) -> list[str]:
    return sorted(plan.external_id for plan in read.children)


# -- 399: no reviews of a child looked after only on short breaks -------------------------

CASES: dict[str, Case] = {}

CASES["399"] = Case(
    2025,
    [child("B1"), child("E1"), child("E2")],
    [
        ep("B1", "01/05/2024", "31/05/2024", ls="V4"),
        ep("B1", "01/07/2024", ls="V4"),
        ep("E1", "01/05/2024", "01/07/2024", ls="V4"),  # and in care under C2 after
        ep("E1", "01/08/2024"),
        ep("E2", "01/05/2024", ls="V4"),  # only short breaks, and no review
    ],
    [rv("B1", "15/05/2024"), rv("B1", "15/07/2024", "PN3"), rv("E1", "15/09/2024")],
)


def test_399_each_review_of_a_child_looked_after_only_on_short_breaks_is_refused(
    tmp_path: Path,
) -> None:
    read = CASES["399"].read(tmp_path)

    error = ("review_of_short_breaks", "399", "error")
    assert issues(read) == [
        ("reviews.csv", 2, "B1", "REVIEW", *error),
        ("reviews.csv", 3, "B1", "REVIEW", *error),
    ]
    assert [i.message for i in read.issues] == [
        "REVIEW 15/05/2024 (PN1) for a child whose every episode is a short break (V3/V4): the "
        "903 records no reviews of short breaks.",
        "REVIEW 15/07/2024 (PN3) for a child whose every episode is a short break (V3/V4): the "
        "903 records no reviews of short breaks.",
    ]
    assert read.rejected_children == {"B1"}
    assert loaded(read) == ["E1", "E2"]
    [e1] = [plan for plan in read.children if plan.external_id == "E1"]
    assert [r.held_on for r in e1.reviews] == [date(2024, 9, 15)]


# -- 351: no child over 25 at the start of the collection year ---------------------------

CASES["351"] = Case(
    2025,
    # B1 turned 25 on 31/03/2024, the day before 2024/25 began; E1 turns 25 on 01/04/2024.
    [child("B1", "31/03/1999"), child("E1", "01/04/1999")],
    [ep("B1", "01/05/2016", ls="V2"), ep("E1", "01/05/2016", ls="V2")],
)


def test_351_a_child_over_25_at_the_start_of_the_year_is_refused(tmp_path: Path) -> None:
    read = CASES["351"].read(tmp_path)

    assert issues(read) == [("header.csv", 2, "B1", "DOB", "over_25", "351", "error")]
    assert message(read, "B1", "over_25") == (
        "DOB 31/03/1999: the child turned 25 on 31/03/2024, before the 2024/25 collection year "
        "began (01/04/2024); no child in a return is over 25."
    )
    assert read.rejected_children == {"B1"}
    assert loaded(read) == ["E1"]


# -- dates after the end of the collection year -------------------------------------------

REVIEW_AFTER_YEAR = (
    [child("B1"), child("E1")],
    [ep("B1", "01/05/2024"), ep("E1", "01/05/2024")],
    [rv("B1", "01/04/2025"), rv("E1", "31/03/2025")],
)
CASES["review_after_named_year"] = Case(2025, *REVIEW_AFTER_YEAR)
CASES["review_after_inferred_year"] = Case(None, *REVIEW_AFTER_YEAR)


@pytest.mark.parametrize(
    ("case", "inferred"),
    [("review_after_named_year", False), ("review_after_inferred_year", True)],
)
def test_a_review_after_the_collection_year_is_refused_and_one_on_31_march_loads(
    tmp_path: Path, case: str, inferred: bool
) -> None:
    read = CASES[case].read(tmp_path)

    assert (read.year_ending, read.year_inferred) == (date(2025, 3, 31), inferred)
    assert issues(read) == [
        ("reviews.csv", 2, "B1", "REVIEW", "after_collection_year", None, "error")
    ]
    assert message(read, "B1", "after_collection_year") == (
        "REVIEW 01/04/2025 is after the end of the 2024/25 collection year (31/03/2025)."
    )
    assert read.rejected_children == {"B1"}
    assert loaded(read) == ["E1"]
    [e1] = read.children
    assert [r.held_on for r in e1.reviews] == [date(2025, 3, 31)]


CASES["dates_after_year"] = Case(
    2025,
    [child("B1", "01/04/2025"), child("B2"), child("B3"), child("E1", "31/03/2025"), child("E2")],
    [
        ep("B1", "01/04/2025"),  # DOB and DECOM after the year
        ep("B2", "01/04/2025"),  # DECOM after the year
        ep("B3", "01/05/2024", "01/04/2025"),  # DEC after the year
        ep("E1", "31/03/2025"),  # born, and looked after, on the last day of the year
        ep("E2", "01/05/2024", "31/03/2025"),
    ],
)


def test_dob_decom_and_dec_after_the_year_break_rules_301_354_and_385(tmp_path: Path) -> None:
    read = CASES["dates_after_year"].read(tmp_path)

    after = "after_collection_year"
    assert issues(read) == [
        ("episodes.csv", 2, "B1", "DECOM", after, "354", "error"),
        ("episodes.csv", 3, "B2", "DECOM", after, "354", "error"),
        ("episodes.csv", 4, "B3", "DEC", after, "385", "error"),
        ("header.csv", 2, "B1", "DOB", after, "301", "error"),
    ]
    assert [i.message for i in read.issues] == [
        f"{column} 01/04/2025 is after the end of the 2024/25 collection year (31/03/2025)."
        for column in ("DECOM", "DECOM", "DEC", "DOB")
    ]
    assert read.rejected_children == {"B1", "B2", "B3"}
    assert loaded(read) == ["E1", "E2"]


# -- "in the future" is judged against today, "after the year" against the year ------------

CASES["old_return_read_today"] = Case(
    2017,
    [child("B1", "01/05/2005", "1"), child("E1", "01/05/2005", "2")],
    [ep("B1", "01/05/2016"), ep("E1", "01/05/2016")],
    [rv("B1", "15/05/2017", dob="01/05/2005"), rv("E1", "31/03/2017", dob="01/05/2005")],
    today=date(2026, 6, 1),
)


def test_a_2016_17_review_in_may_2017_read_in_2026_is_after_the_year_not_in_the_future(
    tmp_path: Path,
) -> None:
    read = CASES["old_return_read_today"].read(tmp_path)

    assert issues(read) == [
        ("reviews.csv", 2, "B1", "REVIEW", "after_collection_year", None, "error")
    ]
    assert message(read, "B1", "after_collection_year") == (
        "REVIEW 15/05/2017 is after the end of the 2016/17 collection year (31/03/2017)."
    )
    assert loaded(read) == ["E1"]


CASES["read_during_the_year"] = Case(
    2025,
    [child("B1"), child("B2"), child("B3"), child("E1")],
    [
        ep("B1", "01/05/2024"),
        ep("B2", "16/01/2025"),  # DECOM after today, within the year
        ep("B3", "01/05/2024", "01/04/2025"),  # DEC after today and after the year
        ep("E1", "01/05/2024", "15/01/2025"),
    ],
    [rv("B1", "16/01/2025"), rv("E1", "15/01/2025")],
    today=date(2025, 1, 15),
)


def test_read_before_the_year_ends_a_date_after_today_is_in_the_future(tmp_path: Path) -> None:
    read = CASES["read_during_the_year"].read(tmp_path)

    future = "date_in_future"
    assert issues(read) == [
        ("episodes.csv", 3, "B2", "DECOM", future, None, "error"),
        ("episodes.csv", 4, "B3", "DEC", future, "385", "error"),  # also after the year
        ("reviews.csv", 2, "B1", "REVIEW", future, None, "error"),
    ]
    assert [i.message for i in read.issues] == [
        "DECOM 16/01/2025 is in the future.",
        "DEC 01/04/2025 is in the future.",
        "REVIEW 16/01/2025 is in the future.",
    ]
    assert read.rejected_children == {"B1", "B2", "B3"}
    assert loaded(read) == ["E1"]


# -- SEX: the codes of the return's year (rule 101); U is a query (rule 232) ---------------

CASES["sex_2024_25"] = Case(
    2025,
    [child("E1", sex="M"), child("E2", sex="F"), child("E3", sex="U")],
    [ep(c, "01/05/2024") for c in ("E1", "E2", "E3")],
)


def test_a_2024_25_return_loads_m_f_and_u_and_u_is_a_warning(tmp_path: Path) -> None:
    read = CASES["sex_2024_25"].read(tmp_path)

    assert issues(read) == [("header.csv", 4, "E3", "SEX", "sex_unknown", "232", "warning")]
    assert message(read, "E3", "sex_unknown") == "SEX is recorded as unknown (U)."
    assert read.rejected_children == set()
    assert [(p.external_id, p.sex) for p in read.children] == [
        ("E1", "male"),
        ("E2", "female"),
        ("E3", "unknown"),
    ]


CASES["sex_old_codes_in_2024_25"] = Case(
    2025,
    [child("B1", sex="1"), child("B2", sex="2"), child("B3", sex="")],
    [ep(c, "01/05/2024") for c in ("B1", "B2", "B3")],
)


def test_a_2024_25_return_refuses_1_2_and_a_blank_naming_its_year_and_codes(
    tmp_path: Path,
) -> None:
    read = CASES["sex_old_codes_in_2024_25"].read(tmp_path)

    assert issues(read) == [
        ("header.csv", line, c, "SEX", "invalid_code", "101", "error")
        for line, c in ((2, "B1"), (3, "B2"), (4, "B3"))
    ]
    assert [i.message for i in read.issues] == [
        "SEX '1' is not a 2024/25 code: the 2024/25 return records SEX as M, F or U.",
        "SEX '2' is not a 2024/25 code: the 2024/25 return records SEX as M, F or U.",
        "SEX is required: the 2024/25 return records it as M, F or U.",
    ]
    assert read.rejected_children == {"B1", "B2", "B3"}
    assert loaded(read) == []


CASES["sex_2016_17"] = Case(
    2017,
    [child("E1", sex="1"), child("E2", sex="2"), child("B1", sex="M"), child("B2", sex="F")],
    [ep(c, "01/05/2016") for c in ("E1", "E2", "B1", "B2")],
)


def test_a_2016_17_return_loads_1_2_and_refuses_m_f_naming_its_year_and_codes(
    tmp_path: Path,
) -> None:
    read = CASES["sex_2016_17"].read(tmp_path)

    assert issues(read) == [
        ("header.csv", 4, "B1", "SEX", "invalid_code", "101", "error"),
        ("header.csv", 5, "B2", "SEX", "invalid_code", "101", "error"),
    ]
    assert [i.message for i in read.issues] == [
        "SEX 'M' is not a 2016/17 code: the 2016/17 return records SEX as 1 or 2.",
        "SEX 'F' is not a 2016/17 code: the 2016/17 return records SEX as 1 or 2.",
    ]
    assert read.rejected_children == {"B1", "B2"}
    assert [(p.external_id, p.sex) for p in read.children] == [("E1", "male"), ("E2", "female")]


# -- a date that does not exist, and one that is not a date (rule 102) ---------------------

CASES["dob_not_a_date"] = Case(
    2025,
    [child("B1", "31/02/2016"), child("B2", "2016-13-01"), child("B3", "yesterday"), child("E1")],
    [ep(c, "01/05/2024") for c in ("B1", "B2", "B3", "E1")],
)


def test_a_date_that_does_not_exist_says_so(tmp_path: Path) -> None:
    read = CASES["dob_not_a_date"].read(tmp_path)

    assert issues(read) == [
        ("header.csv", line, c, "DOB", "invalid_date", "102", "error")
        for line, c in ((2, "B1"), (3, "B2"), (4, "B3"))
    ]
    assert [i.message for i in read.issues] == [
        "DOB '31/02/2016' is written as a date but no such day exists.",
        # yyyy-mm-dd is read too (an Excel export), so this one is written as a date.
        "DOB '2016-13-01' is written as a date but no such day exists.",
        "DOB 'yesterday' is not a date written dd/mm/yyyy.",
    ]
    assert read.rejected_children == {"B1", "B2", "B3"}
    assert loaded(read) == ["E1"]


# -- 148: DEC and REC both present or both absent ------------------------------------------

CASES["148"] = Case(
    2025,
    [child("B1"), child("B2"), child("E1"), child("E2")],
    [
        ep("B1", "01/05/2024", "01/06/2024", rec=""),  # DEC without REC
        ep("B2", "01/05/2024", rec="E4A"),  # REC without DEC
        ep("E1", "01/05/2024", "01/06/2024", rec="E4A"),  # both
        ep("E2", "01/05/2024"),  # neither
    ],
)


def test_148_dec_and_rec_come_together(tmp_path: Path) -> None:
    read = CASES["148"].read(tmp_path)

    assert issues(read) == [
        ("episodes.csv", 2, "B1", "REC", "required", "148", "error"),
        ("episodes.csv", 3, "B2", "REC", "rec_without_dec", "148", "error"),
    ]
    assert [i.message for i in read.issues] == [
        "REC is required when DEC is given.",
        "REC 'E4A' is given but DEC is blank: an episode that has not ended has no reason it "
        "ended.",
    ]
    assert read.rejected_children == {"B1", "B2"}
    assert loaded(read) == ["E1", "E2"]


def test_a_return_from_before_2015_16_is_read_as_2015_16_and_says_so(tmp_path: Path) -> None:
    """The years are described from 2015/16: an older return's dates (here all in 2013/14)
    are read under 2015/16's codes, with its year end, and a warning says so."""
    case = Case(
        None,
        [child("A", "01/01/2005", sex="1")],
        [ep("A", "01/05/2013")],
        [rv("A", "29/05/2016", dob="01/01/2005")],
    )

    read = case.read(tmp_path)

    assert read.year_ending == date(2016, 3, 31)
    assert [(i.file, i.code, i.severity) for i in read.issues] == [
        (None, "collection_year_not_described", "warning"),
        ("reviews.csv", "after_collection_year", "error"),
    ]
    assert read.issues[0].message == (
        "The return's dates end in the collection year to 31/03/2014, which this service does "
        "not describe; it is read as 2015/16, the nearest year it does."
    )
