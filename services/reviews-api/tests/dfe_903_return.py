"""A generated 2024/25 SSDA903 return for the peer check (`test_903_peer.py`).

Deterministic: the same files every run. Each case is one child that breaks one DfE rule, or sits
on the rule's edge and passes, and is valid otherwise; a few hundred valid children surround
them. `CASES` names, for each rule, the children that break it and the children on its edge, so
the test can tell that the DfE's own validator sees the cases as meant.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

YEAR = 2025  # 2024/25: 01/04/2024 to 31/03/2025
TODAY = date(2025, 9, 30)  # after the year: a date between the two is after the year, not future

HEADER = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]
EPISODES = [
    "CHILD",
    "DECOM",
    "RNE",
    "LS",
    "CIN",
    "PLACE",
    "PLACE_PROVIDER",
    "DEC",
    "REC",
    "REASON_PLACE_CHANGE",
    "HOME_POST",
    "PL_POST",
    "URN",
]
REVIEWS = ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"]


def d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


D = date  # short, for the cases below


@dataclass
class Child:
    id: str
    dob: str = d(D(2012, 5, 1))
    sex: str = "M"
    episodes: list[list[str]] = field(default_factory=list)
    reviews: list[list[str]] = field(default_factory=list)  # [DOB, REVIEW, REVIEW_CODE]
    in_header: bool = True


def ep(
    decom: date | str, rne: str = "S", ls: str = "C2", dec: date | str = "", rec: str = ""
) -> list[str]:
    start = decom if isinstance(decom, str) else d(decom)
    end = dec if isinstance(dec, str) else d(dec)
    return [start, rne, ls, "N1", "U1", "PR1", end, rec, "", "", "", ""]


def rv(child: Child, held: date | str, code: str = "PN1", dob: str | None = None) -> list[str]:
    return [child.dob if dob is None else dob, held if isinstance(held, str) else d(held), code]


CARE = D(2023, 6, 1)  # every plain child has been looked after since, in one open C2 episode


def plain(child_id: str, **kwargs: object) -> Child:
    """Looked after since CARE, reviewed twice in the year, valid for every compared rule."""
    child = Child(child_id, **kwargs)  # type: ignore[arg-type]
    child.episodes = [ep(CARE)]
    child.reviews = [rv(child, D(2024, 6, 15)), rv(child, D(2024, 12, 15))]
    return child


def only(child_id: str, *episodes: list[str], **kwargs: object) -> Child:
    """A child with these episodes and no reviews."""
    child = Child(child_id, **kwargs)  # type: ignore[arg-type]
    child.episodes = list(episodes)
    return child


def reviewed(child: Child, *held: date) -> Child:
    child.reviews = [rv(child, day) for day in held]
    return child


def short_status(child_id: str, ls: str, days: int, *, chained: int = 1) -> Child:
    """`ls` for `days` (in `chained` episodes, one after another), then C2; reviewed in C2."""
    start = D(2024, 5, 1)
    episodes, rne = [], "S"
    lengths = [days // chained + (1 if i < days % chained else 0) for i in range(chained)]
    for length in lengths:
        end = start + timedelta(days=length)
        episodes.append(ep(start, rne, ls, end, "X1"))
        start, rne = end, "P"
    episodes.append(ep(start, "L", "C2"))
    return reviewed(Child(child_id, episodes=episodes), D(2024, 8, 1))


def open_status(child_id: str, ls: str, days: int) -> Child:
    """`ls` open at the end of the year, begun `days` before 31/03/2025; no reviews."""
    return only(child_id, ep(D(2025, 3, 31) - timedelta(days=days), "S", ls))


def respite(child_id: str, *spans: tuple[date, int], ls: str = "V3") -> Child:
    """Short breaks (each S, ended E8) and no reviews."""
    return only(child_id, *(ep(s, "S", ls, s + timedelta(days=n), "E8") for s, n in spans))


def _cases() -> tuple[list[Child], dict[str, tuple[set[str], set[str]]]]:
    children: list[Child] = []
    cases: dict[str, tuple[set[str], set[str]]] = {}

    def case(rule: str, broken: list[Child], edge: list[Child]) -> None:
        children.extend(broken + edge)
        cases[rule] = ({c.id for c in broken}, {c.id for c in edge})

    # Header
    case(
        "101",
        [plain("101A", sex="1"), plain("101B", sex="X"), plain("101C", sex="")],
        [plain("101E", sex="F"), plain("101F", sex="m")],
    )
    case("232", [plain("232A", sex="U"), plain("232B", sex="u")], [plain("232E", sex="F")])
    case(
        "301",
        [Child("301A", dob=d(D(2025, 4, 1))), Child("301B", dob=d(D(2025, 12, 1)))],
        [Child("301E", dob=d(D(2025, 3, 31)))],
    )
    case(
        "102",
        [only("102A", ep(CARE), dob="31/02/2012"), only("102B", ep(CARE), dob="")],
        [only("102E", ep(CARE), dob="1/5/2012")],
    )
    duplicate = plain("INT32A")
    case("INT32", [duplicate], [])
    # Episodes: single values
    case(
        "354",
        [only("354A", ep(D(2025, 4, 1))), only("354B", ep(D(2025, 11, 1)))],
        [only("354E", ep(D(2025, 3, 31)))],
    )
    case(
        "385",
        [
            only("385A", ep(CARE, dec=D(2025, 4, 1), rec="E11")),
            only("385B", ep(CARE, dec=D(2025, 12, 1), rec="E11")),
        ],
        [only("385E", ep(CARE, dec=D(2025, 3, 31), rec="E11"))],
    )
    case(
        "148",
        [only("148A", ep(CARE, dec=D(2024, 9, 1))), only("148B", ep(CARE, rec="E11"))],
        [only("148E", ep(CARE, dec=D(2024, 9, 1), rec="E11"))],
    )
    # (a readable episode too: the DfE's rule 302 fails to run for a child with none)
    case("141", [only("141A", ep(CARE), ep("31/02/2024"))], [only("141E", ep("1/6/2023"))])
    case("147", [only("147A", ep(CARE, dec="32/01/2025", rec="E11"))], [])
    case("143", [only("143A", ep(CARE, rne="Z"))], [only("143E", ep(CARE, rne=""))])
    case("144", [only("144A", ep(CARE, ls="C3"))], [])
    case("149", [only("149A", ep(CARE, dec=D(2024, 9, 1), rec="E99"))], [])
    case(
        "356",
        [only("356A", ep(D(2024, 6, 10), dec=D(2024, 6, 1), rec="E11"))],
        [only("356E", ep(D(2024, 6, 10), dec=D(2024, 6, 10), rec="E11"))],
    )
    case(
        "302",
        [only("302A", ep(D(2015, 4, 1)), dob=d(D(2015, 5, 1)))],
        [only("302E", ep(D(2015, 5, 1)), dob=d(D(2015, 5, 1)))],
    )
    case(
        "501",
        [only("501A", ep(CARE, dec=D(2024, 6, 10), rec="E11"), ep(D(2024, 6, 1), "S"))],
        [only("501E", ep(CARE, dec=D(2024, 6, 10), rec="E11"), ep(D(2024, 6, 11), "S"))],
    )
    # Episodes: whole children
    x1_end = ep(CARE, dec=D(2024, 6, 1), rec="X1")
    case(
        "388",
        [
            reviewed(only("388A", x1_end, ep(D(2024, 6, 10), "P")), D(2024, 1, 15)),
            reviewed(
                only("388B", ep(CARE, dec=D(2024, 6, 1), rec="E11"), ep(D(2024, 6, 1), "P")),
                D(2024, 1, 15),
            ),
            reviewed(only("388C", x1_end), D(2024, 1, 15)),
        ],
        [reviewed(only("388E", x1_end, ep(D(2024, 6, 1), "P")), D(2024, 1, 15))],
    )
    case(
        "357",
        [reviewed(only("357A", ep(D(2024, 4, 1), "P")), D(2024, 6, 1))],
        [
            reviewed(only("357E", ep(D(2024, 3, 31), "P")), D(2024, 6, 1)),
            reviewed(only("357F", ep(D(2024, 4, 1), "S")), D(2024, 6, 1)),
        ],
    )
    for rule, ls, limit in (
        ("361", "L1", 3),
        ("362", "L2", 21),
        ("363", "L3", 7),
        ("364", "J2", 21),
    ):
        case(
            rule,
            [
                short_status(f"{rule}A", ls, limit + 1),
                short_status(f"{rule}B", ls, limit + 1, chained=2),
                open_status(f"{rule}C", ls, limit + 1),
            ],
            [
                short_status(f"{rule}E", ls, limit),
                short_status(f"{rule}F", ls, limit, chained=2),
                open_status(f"{rule}G", ls, limit),
            ],
        )
    case("365", [respite("365A", (D(2024, 6, 1), 18))], [respite("365E", (D(2024, 6, 1), 17))])
    case(
        "366",
        [
            reviewed(
                only("366A", x1_end, ep(D(2024, 6, 1), "P", "V3", D(2024, 6, 5), "E8")),
                D(2024, 1, 15),
            )
        ],
        [respite("366E", (D(2024, 6, 1), 4))],
    )
    months = [D(2024, m, 1) for m in (5, 6, 7, 8, 9)]
    case(
        "367",
        [respite("367A", *((s, 16) for s in months))],
        [
            respite("367E", *((s, 15) for s in months)),
            respite("367F", (D(2024, 3, 25), 16), *((s, 16) for s in months[:4])),
        ],
    )
    case(
        "426",
        [
            only(
                "426A",
                ep(D(2024, 6, 1), "S", "V3", D(2024, 6, 5), "E8"),
                ep(D(2024, 7, 1), "S", "V4"),
            )
        ],
        [only("426E", ep(CARE, "S", "V4"))],
    )
    case(
        "399",
        [reviewed(only("399A", ep(CARE, "S", "V4")), D(2024, 6, 15))],
        [
            only("399E", ep(CARE, "S", "V4")),
            reviewed(
                only("399F", ep(CARE, dec=D(2024, 5, 1), rec="X1"), ep(D(2024, 5, 1), "L", "V4")),
                D(2024, 6, 15),
            ),
        ],
    )
    # Reviews
    bad_date = plain("166A")
    bad_date.reviews[0][1] = "31/04/2024"
    undated = plain("166B")
    undated.reviews[0][1:] = ["", ""]
    case("166", [bad_date, undated], [])
    bad_code, uncoded = plain("167A"), plain("167B")
    bad_code.reviews[0][2] = "PN9"
    uncoded.reviews[0][2] = ""
    case("167", [bad_code, uncoded], [])
    case(
        "440",
        [reviewed(plain("440A", dob=d(D(2019, 6, 1))))],
        [reviewed(plain("440E", dob=d(D(2020, 6, 15))))],
    )
    cases_440 = {"440A": D(2024, 6, 15), "440E": D(2024, 6, 15)}
    for child in children:
        if child.id in cases_440:
            child.reviews = [rv(child, cases_440[child.id], "PN0")]
    case("441", [plain("441A", dob=d(D(2021, 6, 1)))], [plain("441E", dob=d(D(2020, 6, 15)))])
    for child in children:
        if child.id in {"441A", "441E"}:
            child.reviews = [rv(child, D(2024, 6, 15), "PN1")]
    leap = plain("440L", dob=d(D(2020, 2, 29)))
    leap.reviews = [rv(leap, D(2024, 2, 29), "PN0"), rv(leap, D(2024, 3, 1), "PN1")]
    children.append(leap)
    cases["440"][1].add("440L")
    case("INT03", [plain("INT03A", in_header=False)], [])
    reviews_only = Child("INT08A", in_header=False)
    reviews_only.reviews = [rv(reviews_only, D(2024, 6, 15))]
    case("INT08", [reviews_only], [])
    mismatch = plain("INT17A")
    mismatch.reviews[0][0] = d(D(2012, 5, 2))
    case("INT17", [mismatch], [])
    # Known differences (see DELIBERATE_DIFFERENCES in the test): read by the import.
    children.append(only("ISO1", ep(CARE), dob="2012-05-01"))
    code_no_date = plain("UNDATED1")
    code_no_date.reviews[0][1] = ""
    children.append(code_no_date)
    return children, cases


def _filler(n: int) -> list[Child]:
    """Valid children of every age, some with a second episode (X1, then a new placement) or
    an ended period of care."""
    children = []
    for i in range(n):
        born = D(2007 + i % 14, 1 + i % 12, 1 + i % 28)
        child = Child(f"F{i:03d}", dob=d(born), sex="MF"[i % 2])
        start = max(CARE, born + timedelta(days=30))
        if i % 3 == 1:
            moved = D(2024, 7, 1) + timedelta(days=i % 50)
            child.episodes = [ep(start, dec=moved, rec="X1"), ep(moved, "P", "C1")]
        elif i % 3 == 2:
            left = D(2024, 10, 1) + timedelta(days=i % 60)
            child.episodes = [ep(start, dec=left, rec="E11")]
        else:
            child.episodes = [ep(start, ls="E1" if i % 2 else "C2")]
        for held in (D(2024, 6, 20), D(2024, 9, 20)):
            if held >= start and (i % 3 != 2 or held <= left):
                four = D(born.year + 4, born.month, born.day)
                child.reviews.append(
                    rv(child, held, "PN0" if held <= four else "PN" + "1234567"[i % 7])
                )
        children.append(child)
    return children


CHILDREN, CASES = _cases()
CHILDREN = CHILDREN + _filler(240)


def write_return(folder: Path) -> None:
    """header.csv, episodes.csv, reviews.csv of the generated return into `folder`."""

    def write(name: str, columns: list[str], rows: list[list[str]]) -> None:
        with (folder / name).open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows(rows)

    header = [[c.id, c.sex, c.dob, "WBRI", "", "", ""] for c in CHILDREN if c.in_header]
    header.append(["INT32A", "M", d(D(2012, 5, 1)), "WBRI", "", "", ""])  # a second row
    write("header.csv", HEADER, header)
    write("episodes.csv", EPISODES, [[c.id, *e] for c in CHILDREN for e in c.episodes])
    write("reviews.csv", REVIEWS, [[c.id, *r] for c in CHILDREN for r in c.reviews])
