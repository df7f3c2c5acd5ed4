"""The authority's SSDA903 return for a collection year, as the DfE's CSV files.

`write_return(authority, folder, year_end)` writes Header, Episodes, Reviews and OC2 for the
year 1 April `year_end - 1` to 31 March `year_end`: every child looked after at some time in
the year, every episode open at some time in it (an episode still open on 31 March has no DEC
or REC), the reviews held in it, and OC2 for each child looked after for the 12 months to 31
March. Codes are the year's own (`reviews_api.imports.collection`: SEX 1/2 to 2023/24, M/F
from 2024/25). reviews-api imports the files with no rejected row (tested).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from iro_synthetic.model import Authority, Child, Episode
from reviews_api.imports.collection import collection_year
from reviews_api.imports.files import COLUMNS, FileKind


def _d(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _in_year(episode: Episode, start: date, end: date) -> bool:
    return episode.start <= end and (episode.end is None or episode.end >= start)


def _rows(child: Child, start: date, end: date, sex_code: str) -> dict[str, list[list[str]]]:
    episodes = [e for e in child.episodes if _in_year(e, start, end)]
    if not episodes:
        return {}
    born = child.date_of_birth
    header = [child.external_id, sex_code, _d(born), "WBRI", f"A{child.external_id[-6:]:0>12}"]
    header += ["0" if child.sex == "female" else "", ""]
    rows: dict[str, list[list[str]]] = {"header": [header], "episodes": [], "reviews": []}
    for episode in episodes:
        ended = episode.end is not None and episode.end <= end
        rows["episodes"].append(
            [
                child.external_id,
                _d(episode.start),
                episode.rne,
                episode.legal_status,
                "N1",
                episode.placement,
                "PR1",
                _d(episode.end) if ended and episode.end else "",
                (episode.reason_ended or "") if ended else "",
                "",
                "SW1A 1AA",
                "SW1A 2AA",
                "SC123456",
            ]
        )
    short_breaks_only = all(e.legal_status in ("V3", "V4") for e in child.episodes)
    for review in [] if short_breaks_only else child.reviews:  # the 903 has none of these
        if start <= review.held_on <= end:
            rows["reviews"].append(
                [child.external_id, _d(born), _d(review.held_on), review.participation_code]
            )
    current = child.looked_after_on(end)
    whole_year = any(p.start <= start and (p.end is None or p.end >= end) for p in child.periods())
    if current is not None and whole_year and current.legal_status not in ("V3", "V4"):
        # Looked after for the 12 months to 31 March: the outcomes the DfE asks for at this age
        # (SDQ at 4-16, convictions from 10, health promotion under 5: rules 188, 542, 546).
        age = _age(born, end)
        sdq = str(int(child.external_id[-2:]) % 40) if 4 <= age <= 16 else ""
        oc2 = [child.external_id, _d(born), sdq, "", "0" if age >= 10 else ""]
        oc2 += ["1" if age < 5 else "", "1", "1", "1", "0", "", ""]
        rows["oc2"] = [oc2]
    return rows


def write_return(authority: Authority, folder: Path, year_end: int) -> dict[str, int]:
    """Write the return for the year ending 31 March `year_end`; the rows written, by file."""
    year = collection_year(year_end)
    start, end = date(year_end - 1, 4, 1), date(year_end, 3, 31)
    if end > authority.end:
        raise ValueError(f"the year to 31/03/{year_end} has not ended on {authority.end}")
    sex_codes = {name: code for code, name in year.sex_codes.items()}
    tables: dict[str, list[list[str]]] = {"header": [], "episodes": [], "reviews": [], "oc2": []}
    for child in authority.children:
        for name, rows in _rows(child, start, end, sex_codes[child.sex]).items():
            tables[name].extend(rows)
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(COLUMNS[FileKind(name)])
            writer.writerows(rows)
    return {name: len(rows) for name, rows in tables.items()}


def latest_year_end(authority: Authority) -> int:
    """The last collection year that has ended by the authority's last day."""
    end = authority.end
    return end.year if (end.month, end.day) >= (3, 31) else end.year - 1
