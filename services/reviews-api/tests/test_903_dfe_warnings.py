"""The DfE's rules on PLACE (`dfe_warnings.py`): each is a warning, and the child loads.

Each case is a hand-made return with a child `B` that breaks the rule and children `E*` on its
edge that pass it; the same returns were run through the DfE's validator, which flags the same
rows (see CASES' notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from reviews_api.imports.files import Upload
from reviews_api.imports.plan import ReadReturn
from reviews_api.imports.ssda903 import read_return

TODAY = date(2027, 6, 1)
HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,"
    "URN\n"
)


def ep(
    child: str,
    decom: str,
    place: str,
    dec: str = "",
    rec: str = "",
    rne: str = "S",
    ls: str = "C2",
) -> str:
    return f"{child},{decom},{rne},{ls},N1,{place},PR1,{dec},{rec},,,,\n"


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def chain(child: str, start: date, *steps: tuple[str, int, str, str]) -> list[str]:
    """Episodes one after another: (PLACE, days, RNE, LS); all but the last end X1 the day the
    next starts; the last is open."""
    rows = []
    for i, (place, days, rne, ls) in enumerate(steps):
        end = start + timedelta(days=days)
        last = i == len(steps) - 1
        rows.append(
            ep(child, _d(start), place, "" if last else _d(end), "" if last else "X1", rne, ls)
        )
        start = end
    return rows


@dataclass(frozen=True)
class Case:
    rule: str
    year: int  # the year the collection ends in
    header: dict[str, str]  # child -> DOB
    episodes: list[str]
    broken: list[tuple[int, str]]  # (line, code) of each row of child B the rule flags
    message: str  # the message on the first of them

    def files(self) -> list[tuple[str, str]]:
        sex = "F" if self.year >= 2025 else "2"
        header = "".join(f"{c},{sex},{dob},WBRI,,,\n" for c, dob in self.header.items())
        return [
            ("header.csv", HEADER + header),
            ("episodes.csv", EPISODES + "".join(self.episodes)),
        ]


def _read(case: Case) -> ReadReturn:
    uploads = [Upload(n, t.encode()) for n, t in case.files()]
    return read_return(uploads, TODAY, date(case.year, 3, 31))


U = (2024, 5, 1)  # a day in 2024/25
START = date(*U)


def _age_case(rule: str, place: str, years: int, year: int = 2025) -> Case:
    """B starts `place` one day before its birthday `years`; E on the birthday; O is too young
    but its episode is open (the DfE's check looks only at ended episodes)."""
    decom = date(year - 1, 5, 1)
    born = decom.replace(year=decom.year - years)
    return Case(
        rule,
        year,
        {"B": _d(born + timedelta(days=1)), "E": _d(born), "O": _d(born + timedelta(days=1))},
        [
            ep("B", _d(decom), place, _d(decom + timedelta(days=30)), "E4A"),
            ep("E", _d(decom), place, _d(decom + timedelta(days=30)), "E4A"),
            ep("O", _d(decom), place),
        ],
        [(2, "place_under_age")],
        f"PLACE {place} ({{what}}) starts on {_d(decom)}, before the child is {years} on "
        f"{_d((born + timedelta(days=1)).replace(year=decom.year))}.",
    )


def _temporary_case(rule: str, place: str, days: int, what: str, limit: str) -> Case:
    """B's temporary placement lasts a day more than `days`; E's exactly `days`."""
    return Case(
        rule,
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [
            *chain(
                "B",
                START,
                ("U1", 10, "S", "C2"),
                (place, days + 1, "P", "C2"),
                ("U1", 5, "P", "C2"),
            ),
            *chain(
                "E", START, ("U1", 10, "S", "C2"), (place, days, "P", "C2"), ("U1", 5, "P", "C2")
            ),
        ],
        [(3, "temporary_place_too_long")],
        f"PLACE {place} ({what}) lasts from 11/05/2024 to "
        f"{_d(START + timedelta(days=11 + days))}, more than {limit}.",
    )


WHAT = {
    "370": "independent living",
    "371": "supported accommodation",
    "372": "youth custody or prison",
    "373": "a school",
    "374": "residential employment",
}


def _aged(case: Case) -> Case:
    return Case(
        case.rule,
        case.year,
        case.header,
        case.episodes,
        case.broken,
        case.message.replace("{what}", WHAT[case.rule]),
    )


KIDS = {"B": "01/01/2012", "E": "01/01/2012", "E2": "01/01/2012"}

CASES = [
    Case(
        "146",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012", "E2": "01/01/2012"},
        [ep("B", "01/05/2024", "Z9"), ep("E", "01/05/2024", "Z1"), ep("E2", "01/05/2024", "u1")],
        [(2, "place_code_unknown")],
        "PLACE 'Z9' is not a 2024/25 placement code.",
    ),
    Case(
        "217",
        2025,
        KIDS,
        [
            *chain("B", START, ("U1", 10, "S", "C2"), ("A3", 5, "L", "C2")),
            *chain("E", START, ("U1", 10, "S", "C2"), ("A3", 5, "T", "C2")),
            *chain("E2", START, ("A5", 10, "S", "E1")),
        ],
        [(3, "adoption_place_rne")],
        "PLACE A3 (placed for adoption with current foster carers) starts with RNE 'L'; it "
        "should be S, T or U.",
    ),
    Case(
        "217t",
        2024,
        {"B": "01/01/2007", "E": "01/01/2007"},
        [
            ep("B", "01/05/2023", "P2"),
            ep("E", "01/05/2023", "P2", "28/10/2023", "E4A"),
        ],
        [(2, "place_withdrawn")],
        "PLACE 'P2' is not a placement type after 28/10/2023, and this episode is still open.",
    ),
    Case(
        "336",
        2025,
        KIDS,
        [
            *chain("B", START, ("R1", 10, "S", "C2"), ("A4", 5, "T", "E1")),
            *chain("E", START, ("U6", 10, "S", "C2"), ("A4", 5, "T", "E1")),
            *chain("E2", START, ("A4", 10, "S", "E1")),
        ],
        [(3, "adoption_not_after_foster")],
        "PLACE A4 (placed for adoption) follows PLACE 'R1' (line 2); the placement before "
        "should be a foster or adoption placement (A3-A6, U1-U6).",
    ),
    Case(
        "359",
        2025,
        {"B": "01/03/2007", "E": "31/03/2007", "E2": "01/03/2007"},
        [
            ep("B", "01/06/2024", "K2"),
            ep("E", "01/06/2024", "K2"),
            ep("E2", "01/06/2024", "K2", ls="V2"),
        ],
        [(2, "over_18_not_v2_k2")],
        "The child is 18 on 01/03/2025 and this episode is still open with LS C2 and PLACE "
        "'K2'; after 18 a child is looked after only under LS V2 in PLACE K2.",
    ),
    _aged(_age_case("370", "P2", 15, year=2023)),
    _aged(_age_case("371", "K3", 16)),
    _aged(_age_case("372", "R5", 10)),
    _aged(_age_case("373", "S1", 4)),
    _aged(_age_case("374", "P3", 14)),
    _temporary_case("375", "T1", 42, "temporary, in hospital", "six weeks"),
    _temporary_case("376", "T3", 21, "temporary, holiday of the usual foster carer", "three weeks"),
    _temporary_case("379", "T4", 7, "temporary, for another reason", "seven days"),
    Case(
        "377",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [
            *chain(
                "B",
                START,
                ("U1", 20, "S", "C2"),
                ("T3", 5, "P", "C2"),
                ("U1", 20, "P", "C2"),
                ("T3", 5, "P", "C2"),
                ("U1", 20, "P", "C2"),
                ("T3", 5, "P", "C2"),
                ("U1", 20, "P", "C2"),
            ),
            *chain(
                "E",
                START,
                ("U1", 20, "S", "C2"),
                ("T3", 5, "P", "C2"),
                ("U1", 20, "P", "C2"),
                ("T3", 5, "P", "C2"),
                ("U1", 20, "P", "C2"),
            ),
        ],
        [
            (3, "too_many_holiday_placements"),
            (5, "too_many_holiday_placements"),
            (7, "too_many_holiday_placements"),
        ],
        "PLACE T3 (holiday of the usual foster carer) is used for 3 episodes of this child; at "
        "most 2 are allowed in a year.",
    ),
    Case(
        "378",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [ep("B", "01/05/2024", "P1", ls="V2"), ep("E", "01/05/2024", "P1", ls="C2")],
        [(2, "parents_under_v2")],
        "PLACE P1 with LS V2: a child placed with parents cannot be in a single period of "
        "accommodation (V2).",
    ),
    Case(
        "380",
        2025,
        KIDS,
        [
            *chain("B", START, ("U1", 10, "S", "C2"), ("T0", 5, "L", "C2"), ("U1", 5, "P", "C2")),
            *chain("E", START, ("U1", 10, "S", "C2"), ("T0", 5, "B", "C2"), ("U1", 5, "P", "C2")),
            *chain("E2", START, ("U1", 10, "S", "C2"), ("T0", 5, "P", "C2"), ("U1", 5, "P", "C2")),
        ],
        [(3, "temporary_place_rne")],
        "PLACE T0 is a temporary placement but starts with RNE 'L'; a temporary placement "
        "starts with RNE P or B.",
    ),
    Case(
        "381",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [
            ep("B", "01/05/2024", "U1", "11/05/2024", "X1"),
            ep("B", "11/05/2024", "T2", "16/05/2024", "E4A", rne="P"),
            *chain("E", START, ("U1", 10, "S", "C2"), ("T2", 5, "P", "C2"), ("U1", 5, "P", "C2")),
        ],
        [(3, "ends_in_temporary_place")],
        "PLACE T2 is a temporary placement and the episode ends with REC 'E4A'; a period of care "
        "cannot end in a temporary placement.",
    ),
    Case(
        "382",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [
            # V4 (not V3: a V3 break is a period of its own, RNE S, DfE rule 366).
            *chain("B", START, ("U3", 2, "S", "V4"), ("T0", 2, "P", "V4"), ("U3", 2, "P", "V4")),
            *chain("E", START, ("U3", 2, "S", "V4"), ("T0", 2, "P", "C2"), ("U3", 2, "P", "V4")),
        ],
        [(3, "respite_temporary_place")],
        "PLACE T0 with LS V4: a child in respite care (V3, V4) cannot be in a temporary placement.",
    ),
    Case(
        "383",
        2025,
        KIDS,
        [
            *chain("B", START, ("U3", 10, "S", "C2"), ("T0", 5, "P", "C2"), ("U2", 5, "P", "C2")),
            *chain("E", START, ("U3", 10, "S", "C2"), ("T0", 5, "P", "C2"), ("U3", 5, "P", "C2")),
            *chain("E2", START, ("U3", 10, "S", "C2"), ("U2", 5, "P", "C2")),
        ],
        [(4, "no_return_after_temporary_place")],
        "After the temporary PLACE T0 (line 3) the child should return to PLACE 'U3' with RNE "
        "P; this episode has PLACE 'U2' and RNE 'P'.",
    ),
    Case(
        "384",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [
            ep("B", "01/05/2024", "U4", "03/05/2024", "E4A", ls="V3"),
            ep("E", "01/05/2024", "U2", "03/05/2024", "E4A", ls="V3"),
        ],
        [(2, "respite_long_term_foster")],
        "PLACE U4 with LS V3: a child in respite care (V3, V4) cannot be in a long-term foster "
        "placement.",
    ),
    Case(
        "390",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [
            ep("B", "01/05/2024", "U1", "03/06/2024", "E11", ls="E1"),
            ep("E", "01/05/2024", "A6", "03/06/2024", "E12", ls="E1"),
        ],
        [(2, "adopted_without_adoption_place")],
        "REC E11 (adopted) but PLACE 'U1' is not a placement for adoption (A3-A6).",
    ),
    Case(
        "408",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [ep("B", "01/05/2024", "A5", ls="C2"), ep("E", "01/05/2024", "A6", ls="E1")],
        [(2, "adoption_place_without_e1")],
        "PLACE A5 (placed for adoption with a placement order) but LS is C2, not E1 (placement "
        "order).",
    ),
    Case(
        "516",
        2025,
        {"B": "01/01/2012", "E": "01/01/2012"},
        [
            ep("B", "01/05/2024", "R1", "03/06/2024", "E45"),
            ep("E", "01/05/2024", "U6", "03/06/2024", "E46"),
        ],
        [(2, "former_carers_without_foster_place")],
        "REC E45 (living with former foster carers) but PLACE 'R1' is not a foster placement "
        "(U1-U6).",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"rule_{c.rule}" for c in CASES])
def test_each_rule_warns_on_the_breaking_row_and_not_on_its_edge(case: Case) -> None:
    read = _read(case)

    found = [
        (i.file, i.line, i.child, i.field, i.code, i.dfe_rule, i.severity)
        for i in read.issues
        if i.dfe_rule == case.rule
    ]
    assert found == [
        ("episodes.csv", line, "B", "PLACE", code, case.rule, "warning")
        for line, code in case.broken
    ]
    first = next(i for i in read.issues if i.dfe_rule == case.rule)
    assert first.message == case.message
    # Nothing holds any child back: each loads, with its episodes.
    assert [i for i in read.issues if not i.warning] == []
    assert read.rejected_children == set()
    planned = {c.external_id: len(c.episodes) for c in read.children}
    assert planned == {c: sum(r.startswith(f"{c},") for r in case.episodes) for c in case.header}


def _place_issues(year: int, *places: str) -> list[tuple[int, str, str | None, str]]:
    kids = [f"C{i}" for i in range(len(places))]
    case = Case(
        "146",
        year,
        dict.fromkeys(kids, "01/01/2012"),
        [ep(k, f"01/05/{year - 1}", p) for k, p in zip(kids, places, strict=True)],
        [],
        "",
    )
    read = _read(case)
    assert read.rejected_children == set()
    return [(i.line, i.code, i.dfe_rule, i.message) for i in read.issues if i.field == "PLACE"]


def test_the_place_codes_are_those_of_the_return_s_year() -> None:
    # Z1 is a code to 2024/25; from 2025/26 it is split into Z11-Z14, and H5 and P2 go.
    assert _place_issues(2025, "Z1", "Z11", "H5", "P2") == [
        (3, "place_code_unknown", "146", "PLACE 'Z11' is not a 2024/25 placement code.")
    ]
    assert _place_issues(2026, "Z1", "Z11", "H5", "P2") == [
        (2, "place_code_unknown", "146", "PLACE 'Z1' is not a 2025/26 placement code."),
        (4, "place_code_unknown", "146", "PLACE 'H5' is not a 2025/26 placement code."),
        (5, "place_code_unknown", "146", "PLACE 'P2' is not a 2025/26 placement code."),
    ]
    # K3 (supported accommodation) from 2024/25; a year before 2022/23 has the 2022/23 list.
    assert _place_issues(2024, "K3", "Z1") == [
        (2, "place_code_unknown", "146", "PLACE 'K3' is not a 2023/24 placement code.")
    ]
    assert _place_issues(2025, "K3") == []
    assert _place_issues(2018, "Z11", "H5") == [
        (2, "place_code_unknown", "146", "PLACE 'Z11' is not a 2017/18 placement code.")
    ]


def test_a_blank_place_is_a_warning_of_the_service_s_own() -> None:
    assert _place_issues(2025, "", "U1") == [
        (
            2,
            "place_missing",
            None,
            "PLACE is blank: every episode should give the child's placement type.",
        )
    ]


def test_rules_of_one_year_only_are_not_applied_in_another() -> None:
    # 217t is a 2023/24 rule; 370 ends with 2023/24; 371 is about H5 to 2023/24, K3 after.
    p2_open = Case("217t", 2025, {"B": "01/01/2009"}, [ep("B", "01/05/2024", "P2")], [], "")
    assert [i.dfe_rule for i in _read(p2_open).issues] == []
    young = {"B": "01/01/2012"}
    h5 = Case("371", 2025, young, [ep("B", "01/05/2024", "H5", "01/06/2024", "E4A")], [], "")
    assert [i.dfe_rule for i in _read(h5).issues] == []
    h5_2024 = Case("371", 2024, young, [ep("B", "01/05/2023", "H5", "01/06/2023", "E4A")], [], "")
    assert [i.dfe_rule for i in _read(h5_2024).issues] == ["371"]
    p2 = Case("370", 2025, young, [ep("B", "01/05/2024", "P2", "01/06/2024", "E4A")], [], "")
    assert [i.dfe_rule for i in _read(p2).issues] == []
