"""The DfE's rules on a child's episodes (`imports/dfe_episodes.py`), on hand-made returns.

Each rule has a return that breaks it (the exact problems are asserted and the child is held
back) and one that sits on its edge and passes (the child loads). The returns are 2024/25
(1 April 2024 to 31 March 2025) unless a case says otherwise. `CASES` is also what a reviewer
can feed the DfE's own validator to see it decide the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from reviews_api.imports.files import Upload
from reviews_api.imports.plan import ReadReturn
from reviews_api.imports.ssda903 import read_return

TODAY = date(2025, 6, 1)
YEAR_END = date(2025, 3, 31)
YEAR_2016 = date(2016, 3, 31)  # 353: a child in care in 1991 is under 25 only until 2015/16
YEAR_2024 = date(2024, 3, 31)  # 445 and 451 are withdrawn from 2024/25 on: a 2023/24 return
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,"
    "URN\n"
)
CHILD = "C1"
DOB = "01/06/2012"  # 11 to 12 in 2024/25


def ep(decom: str, dec: str = "", rne: str = "S", ls: str = "C2", rec: str = "") -> str:
    """An Episodes row of the child; an ended episode's REC is E8 (other) unless given."""
    return f"{CHILD},{decom},{rne},{ls},N1,U1,PR1,{dec},{rec or ('E8' if dec else '')},,,,\n"


@dataclass(frozen=True)
class Case:
    rule: str
    episodes: tuple[str, ...]
    flagged: tuple[tuple[int, str, str], ...] = ()  # (line, field, code); () = passes
    dob: str = DOB
    year_end: date = YEAR_END

    def write(self, folder: Path) -> list[Upload]:
        folder.mkdir(parents=True, exist_ok=True)
        sex = "M" if self.year_end.year >= 2025 else "1"  # SEX codes changed in 2024/25
        (folder / "header.csv").write_text(HEADER + f"{CHILD},{sex},{self.dob},WBRI,,,\n")
        (folder / "episodes.csv").write_text(EPISODES + "".join(self.episodes))
        return [Upload(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]


# name -> case. A breaking case lists every row the rule flags; an edge case lists none.
CASES: dict[str, Case] = {
    # 388
    "388 X1 not followed the same day": Case(
        "388",
        (ep("01/05/2024", "10/05/2024", rec="X1"), ep("12/05/2024")),
        ((2, "REC", "x1_without_continuation"),),
    ),
    "388 followed the same day without X1": Case(
        "388",
        (ep("01/05/2024", "10/05/2024", rec="E8"), ep("10/05/2024", rne="P")),
        ((2, "REC", "continuation_not_x1"),),
    ),
    "388 last episode ends X1": Case(
        "388", (ep("01/05/2024", "10/05/2024", rec="X1"),), ((2, "REC", "x1_last_episode"),)
    ),
    "388 edge: X1 and the next starts that day": Case(
        "388", (ep("01/05/2024", "10/05/2024", rec="X1"), ep("10/05/2024", rne="P"))
    ),
    # 357
    "357 first episode on the year's first day is not S": Case(
        "357", (ep("01/04/2024", rne="P"),), ((2, "RNE", "first_episode_not_s"),)
    ),
    "357 edge: first episode the day before the year is not S": Case(
        "357", (ep("31/03/2024", rne="P"),)
    ),
    # 361
    "361 two L1 episodes one after another, 4 days": Case(
        "361",
        (
            ep("01/05/2024", "03/05/2024", ls="L1", rec="X1"),
            ep("03/05/2024", "05/05/2024", rne="P", ls="L1", rec="X1"),
            ep("05/05/2024", rne="L"),
        ),
        ((2, "LS", "police_protection_too_long"), (3, "LS", "police_protection_too_long")),
    ),
    "361 L1 chained across a C2 episode between them (as the DfE chains)": Case(
        "361",
        (
            ep("01/05/2024", "02/05/2024", ls="L1", rec="X1"),
            ep("02/05/2024", "03/05/2024", rne="L", ls="C2", rec="X1"),
            ep("03/05/2024", "05/05/2024", rne="L", ls="L1", rec="X1"),
            ep("05/05/2024", rne="L"),
        ),
        ((2, "LS", "police_protection_too_long"), (4, "LS", "police_protection_too_long")),
    ),
    "361 edge: L1 for exactly 3 days": Case(
        "361", (ep("01/05/2024", "04/05/2024", ls="L1", rec="X1"), ep("04/05/2024", rne="L"))
    ),
    # 362
    "362 open L2 counts to the year's end (30 days)": Case(
        "362", (ep("01/03/2025", ls="L2"),), ((2, "LS", "emergency_protection_too_long"),)
    ),
    "362 edge: L2 for exactly 21 days": Case(
        "362", (ep("01/05/2024", "22/05/2024", ls="L2", rec="X1"), ep("22/05/2024", rne="L"))
    ),
    # 363
    "363 two contiguous L3 episodes, 8 days in all": Case(
        "363",
        (
            ep("01/05/2024", "05/05/2024", ls="L3", rec="X1"),
            ep("05/05/2024", "09/05/2024", rne="P", ls="L3", rec="X1"),
            ep("09/05/2024", rne="L"),
        ),
        ((2, "LS", "assessment_order_too_long"), (3, "LS", "assessment_order_too_long")),
    ),
    "363 edge: two contiguous L3 episodes, exactly 7 days": Case(
        "363",
        (
            ep("01/05/2024", "05/05/2024", ls="L3", rec="X1"),
            ep("05/05/2024", "08/05/2024", rne="P", ls="L3", rec="X1"),
            ep("08/05/2024", rne="L"),
        ),
    ),
    # 364
    "364 J2 for 22 days": Case(
        "364",
        (ep("01/05/2024", "23/05/2024", ls="J2", rec="X1"), ep("23/05/2024", rne="L")),
        ((2, "LS", "pace_detention_too_long"),),
    ),
    "364 edge: J2 for exactly 21 days": Case(
        "364", (ep("01/05/2024", "22/05/2024", ls="J2", rec="X1"), ep("22/05/2024", rne="L"))
    ),
    # 365
    "365 a V3 break of 18 days": Case(
        "365", (ep("01/05/2024", "19/05/2024", ls="V3"),), ((2, "DEC", "respite_break_too_long"),)
    ),
    "365 edge: a V3 break of exactly 17 days": Case(
        "365", (ep("01/05/2024", "18/05/2024", ls="V3"),)
    ),
    # 366
    "366 a V3 break that is not S": Case(
        "366",
        (ep("01/03/2024", "05/03/2024", rne="P", ls="V3"),),
        ((2, "RNE", "respite_break_not_s"),),
    ),
    "366 edge: a V3 break with RNE S": Case("366", (ep("01/03/2024", "05/03/2024", ls="V3"),)),
    # 367: the first break starts before the year (10 of its 17 days count), the one before
    # it ends before the year (none count)
    "367 V3 breaks of 76 days in the year": Case(
        "367",
        (
            ep("01/01/2024", "18/01/2024", ls="V3"),
            ep("25/03/2024", "11/04/2024", ls="V3"),
            ep("01/05/2024", "18/05/2024", ls="V3"),
            ep("01/06/2024", "18/06/2024", ls="V3"),
            ep("01/07/2024", "18/07/2024", ls="V3"),
            ep("01/08/2024", "16/08/2024", ls="V3"),
        ),
        tuple((line, "LS", "respite_year_too_long") for line in (3, 4, 5, 6, 7)),
    ),
    "367 edge: V3 breaks of exactly 75 days in the year": Case(
        "367",
        (
            ep("01/01/2024", "18/01/2024", ls="V3"),
            ep("25/03/2024", "11/04/2024", ls="V3"),
            ep("01/05/2024", "18/05/2024", ls="V3"),
            ep("01/06/2024", "18/06/2024", ls="V3"),
            ep("01/07/2024", "18/07/2024", ls="V3"),
            ep("01/08/2024", "15/08/2024", ls="V3"),
        ),
    ),
    # 426
    "426 V3 and V4 breaks": Case(
        "426",
        (ep("01/05/2024", "05/05/2024", ls="V3"), ep("01/06/2024", ls="V4")),
        ((2, "LS", "respite_v3_and_v4"), (3, "LS", "respite_v3_and_v4")),
    ),
    "426 edge: V3 breaks only": Case(
        "426", (ep("01/05/2024", "05/05/2024", ls="V3"), ep("01/06/2024", "03/06/2024", ls="V3"))
    ),
    # 355
    "355 an episode ending the day it starts": Case(
        "355", (ep("01/05/2024", "01/05/2024"),), ((2, "DEC", "episode_under_a_day"),)
    ),
    "355 edge: an episode of one day": Case("355", (ep("01/05/2024", "02/05/2024"),)),
    # 353
    "353 an episode before 14/10/1991": Case(
        "353",
        (ep("13/10/1991", "20/10/1991"),),
        ((2, "DECOM", "decom_before_1991"),),
        dob="01/01/1991",
        year_end=YEAR_2016,
    ),
    "353 edge: an episode from 14/10/1991": Case(
        "353", (ep("14/10/1991", "20/10/1991"),), dob="01/01/1991", year_end=YEAR_2016
    ),
    # 431
    "431 S on the day the previous episode ended": Case(
        "431",
        (ep("01/05/2024", "10/05/2024", rec="X1"), ep("10/05/2024")),
        ((3, "RNE", "s_continues_episode"),),
    ),
    "431 edge: S the day after the previous episode ended": Case(
        "431", (ep("01/05/2024", "10/05/2024"), ep("11/05/2024"))
    ),
    # 432
    "432 care ended, the next episode is not S": Case(
        "432",
        (ep("01/05/2024", "10/05/2024"), ep("11/05/2024", rne="P")),
        ((3, "RNE", "new_period_not_s"),),
    ),
    "432 edge: X1, the next episode is not S": Case(
        "432", (ep("01/05/2024", "10/05/2024", rec="X1"), ep("10/05/2024", rne="P"))
    ),
    # 433
    "433 a continuation a day after the previous episode ended": Case(
        "433",
        (ep("01/05/2024", "10/05/2024", rec="X1"), ep("11/05/2024", rne="T")),
        ((3, "DECOM", "continuation_not_same_day"),),
    ),
    "433 edge: a continuation the day the previous episode ended": Case(
        "433", (ep("01/05/2024", "10/05/2024", rec="X1"), ep("10/05/2024", rne="T"))
    ),
    # 437
    "437 an episode after E15 (found to be 18)": Case(
        "437",
        (ep("01/05/2024", "10/05/2024", rec="E15"), ep("11/05/2024")),
        ((2, "REC", "episode_after_final_end"),),
    ),
    "437 edge: E15 on the last episode": Case(
        "437", (ep("01/05/2024", "10/05/2024"), ep("11/05/2024", "20/05/2024", rec="E15"))
    ),
    # 445, 446, 451
    "445 D1 after 2005": Case(
        "445",
        (ep("01/01/2006", "10/01/2006", ls="D1"),),
        ((2, "LS", "freeing_order_after_2005"),),
        dob="01/01/2000",
        year_end=YEAR_2024,
    ),
    "445 edge: D1 on 31/12/2005": Case(
        "445", (ep("31/12/2005", "10/01/2006", ls="D1"),), dob="01/01/2000", year_end=YEAR_2024
    ),
    "446 E1 before December 2005": Case(
        "446",
        (ep("30/11/2005", "10/01/2006", ls="E1"),),
        ((2, "LS", "placement_order_before_2005"),),
        dob="01/01/2000",
    ),
    "446 edge: E1 on 01/12/2005": Case(
        "446", (ep("01/12/2005", "10/01/2006", ls="E1"),), dob="01/01/2000"
    ),
    "451 D1 still open": Case(
        "451",
        (ep("01/01/2005", ls="D1"),),
        ((2, "LS", "freeing_order_open"),),
        dob="01/01/2000",
        year_end=YEAR_2024,
    ),
    "451 edge: D1 ended": Case(
        "451", (ep("01/01/2005", "10/01/2005", ls="D1"),), dob="01/01/2000", year_end=YEAR_2024
    ),
    "445 and 451 are withdrawn from 2024/25: an open D1 from 2006 passes": Case(
        "445", (ep("01/01/2006", ls="D1"),), dob="01/01/2000"
    ),
    # ages
    "352 care starts on the 18th birthday": Case(
        "352", (ep("01/05/2024"),), ((2, "DECOM", "started_care_aged_18"),), dob="01/05/2006"
    ),
    "352 edge: care starts the day before the 18th birthday": Case(
        "352", (ep("30/04/2024"),), dob="01/05/2006"
    ),
    "358 J1 on the 10th birthday": Case(
        "358",
        (ep("01/05/2024", "05/05/2024", ls="J1"),),
        ((2, "LS", "custody_status_under_10"),),
        dob="01/05/2014",
    ),
    "358 edge: J1 the day after the 10th birthday": Case(
        "358", (ep("02/05/2024", "05/05/2024", ls="J1"),), dob="01/05/2014"
    ),
    "386 adopted on the 18th birthday": Case(
        "386",
        (ep("01/05/2024", "01/06/2024", rec="E11"),),
        ((2, "REC", "adopted_aged_18"),),
        dob="01/06/2006",
    ),
    "386 edge: adopted the day before the 18th birthday": Case(
        "386", (ep("01/05/2024", "31/05/2024", rec="E11"),), dob="01/06/2006"
    ),
    "387 independent living the day before the 14th birthday": Case(
        "387",
        (ep("01/05/2024", "31/05/2024", rec="E5"),),
        ((2, "REC", "independent_living_under_14"),),
        dob="01/06/2010",
    ),
    "387 edge: independent living on the 14th birthday": Case(
        "387", (ep("01/05/2024", "01/06/2024", rec="E5"),), dob="01/06/2010"
    ),
    "389 adult social care the day before the 16th birthday": Case(
        "389",
        (ep("01/05/2024", "31/05/2024", rec="E7"),),
        ((2, "REC", "adult_services_under_16"),),
        dob="01/06/2008",
    ),
    "389 edge: adult social care on the 16th birthday": Case(
        "389", (ep("01/05/2024", "01/06/2024", rec="E7"),), dob="01/06/2008"
    ),
    "407 special guardianship the day after the 18th birthday": Case(
        "407",
        (ep("01/05/2024", "02/06/2024", rec="E45"),),
        ((2, "REC", "special_guardianship_after_18"),),
        dob="01/06/2006",
    ),
    "407 edge: special guardianship on the 18th birthday": Case(
        "407", (ep("01/05/2024", "01/06/2024", rec="E45"),), dob="01/06/2006"
    ),
    "460 stayed with carers at 18, the day before the birthday": Case(
        "460",
        (ep("01/05/2024", "31/05/2024", rec="E17"),),
        ((2, "REC", "stayed_with_carers_under_18"),),
        dob="01/06/2006",
    ),
    "460 edge: stayed with carers from the 18th birthday": Case(
        "460", (ep("01/05/2024", "01/06/2024", rec="E17"),), dob="01/06/2006"
    ),
}

MY_CODES = frozenset(code for case in CASES.values() for _, _, code in case.flagged)


def _read(case: Case, folder: Path) -> ReadReturn:
    return read_return(case.write(folder), TODAY, case.year_end)


def test_every_rule_has_a_breaking_and_an_edge_case() -> None:
    rules = {case.rule for case in CASES.values()}
    assert {r for r in rules if not any(c.rule == r and c.flagged for c in CASES.values())} == set()
    assert {r for r in rules if not any(c.rule == r and not c.flagged for c in CASES.values())} == (
        set()
    )


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.flagged])
def test_a_row_that_breaks_the_rule_holds_the_child_back(name: str, tmp_path: Path) -> None:
    case = CASES[name]

    read = _read(case, tmp_path)

    found = [
        (i.file, i.line, i.child, i.field, i.code, i.dfe_rule, i.severity)
        for i in read.issues
        if i.dfe_rule == case.rule
    ]
    assert found == [
        ("episodes.csv", line, CHILD, field, code, case.rule, "error")
        for line, field, code in case.flagged
    ]
    assert read.rejected_children == {CHILD}
    assert read.children == []


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if not c.flagged])
def test_a_row_on_the_edge_of_the_rule_passes(name: str, tmp_path: Path) -> None:
    case = CASES[name]

    read = _read(case, tmp_path)

    assert [i for i in read.issues if not i.warning] == []
    assert read.rejected_children == set()
    assert [c.external_id for c in read.children] == [CHILD]


def _messages(case: Case, folder: Path) -> list[str]:
    return [i.message for i in _read(case, folder).issues if i.dfe_rule == case.rule]


def test_messages_name_the_dates_and_codes(tmp_path: Path) -> None:
    assert _messages(CASES["388 X1 not followed the same day"], tmp_path / "a") == [
        "REC X1 (a new episode begins) on DEC 10/05/2024, but the next episode (line 3) starts "
        "on 12/05/2024, not the same day."
    ]
    assert _messages(CASES["388 followed the same day without X1"], tmp_path / "b") == [
        "The episode ends on 10/05/2024 with REC E8, but the next episode (line 3) starts the "
        "same day: the child is still looked after, so REC should be X1."
    ]
    assert _messages(
        CASES["357 first episode on the year's first day is not S"], tmp_path / "c"
    ) == [
        "RNE 'P' on the child's first episode (DECOM 01/04/2024): a first episode starts care, "
        "RNE S. Is an earlier episode missing from the file?"
    ]
    assert _messages(CASES["362 open L2 counts to the year's end (30 days)"], tmp_path / "d") == [
        "LS L2 (emergency protection order) from 01/03/2025 to 31/03/2025 (open: counted to the "
        "end of 2024/25) lasts 30 days; an emergency protection order lasts at most 21 days."
    ]
    chained = CASES["361 L1 chained across a C2 episode between them (as the DfE chains)"]
    assert (
        _messages(chained, tmp_path / "e")
        == [
            "LS L1 (police protection) in the episodes on lines 2, 4, one after another, from "
            "01/05/2024 to 05/05/2024 lasts 4 days; police protection lasts at most 72 hours "
            "(3 days)."
        ]
        * 2
    )
    assert _messages(CASES["367 V3 breaks of 76 days in the year"], tmp_path / "f")[0] == (
        "LS V3 (short-term breaks) adds up to 76 days in 2024/25 (this episode, from 25/03/2024, "
        "10 of them; lines 3, 4, 5, 6, 7); short breaks total at most 75 days a year."
    )
    assert _messages(CASES["426 V3 and V4 breaks"], tmp_path / "g")[1] == (
        "LS V4 (episode from 01/06/2024), but the child also has V3 episodes (lines 2): a child's "
        "short breaks are either single breaks (V3) or a pre-planned series (V4), not both."
    )


def test_l3_runs_follow_the_file_order_as_the_dfe_does(tmp_path: Path) -> None:
    """The DfE's 363 means to sort by DECOM but drops the sorted result: two L3 episodes ten
    days apart, written later one first, make one run (4 + 4 days) in file order."""
    case = Case(
        "363",
        (
            ep("15/05/2024", "19/05/2024", ls="L3", rne="S"),
            ep("01/05/2024", "05/05/2024", ls="L3"),
        ),
    )

    found = [(i.line, i.code) for i in _read(case, tmp_path).issues if i.dfe_rule == "363"]

    assert found == [(2, "assessment_order_too_long"), (3, "assessment_order_too_long")]
