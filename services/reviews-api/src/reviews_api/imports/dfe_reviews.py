"""DfE validation rules on a child's reviews, participation and the Header (see `dfe.py`).

Each rule decides as the DfE's validator (csc-validator-be-903) does, read from its source
(`lac_validator/rules/lac2022_23/rule_N.py`; no later year changes these rules). Both are errors:
they are on the dates and reviews this service schedules from.

The other DfE rules on the Reviews table and on the Header's DOB and SEX are applied as the
rows are read (`rows.py`, `ssda903.py`): 101, 102, 232, 301 (Header); 166, 167, 440, 441, INT08,
INT17 (Reviews); 302 (DECOM before DOB). Not applied, as they need data this service does not
read: 202 and 203 (last year's Header), 174, 607, 612, 620, 621 (MOTHER, MC_DOB), 209 (UPN),
231 (UASC_STATUS) and INT21 (the UASC file).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from reviews_api.imports.collection import CollectionYear
from reviews_api.imports.dates import format_date
from reviews_api.imports.dfe import ChildRows, Finding, Rule
from reviews_api.imports.files import FileKind

SHORT_BREAKS = frozenset({"V3", "V4"})
OLDEST = 25  # rule 351: no child in a return is over 25 at the start of the collection year


def short_breaks_not_reviewed(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """399: no review rows for a child all of whose episodes are V3 or V4 (short breaks are not
    reviewed under regulation 33 in the 903); each of the child's review rows is flagged. MOTHER,
    which the DfE's rule also checks, is not read by this service."""
    if not rows.episodes or any(e.legal_status not in SHORT_BREAKS for e in rows.episodes):
        return
    for review in rows.reviews:
        message = (
            f"REVIEW {format_date(review.held_on)} ({review.participation_code}) for a child "
            "whose every episode is a short break (V3/V4): the 903 records no reviews of short "
            "breaks."
        )
        yield Finding(FileKind.reviews, review.line, "REVIEW", "review_of_short_breaks", "399",
                      message)  # fmt: skip


def _plus_years(day: date, years: int) -> date:
    """`day` `years` on; 29 February to 28 February (as pandas' DateOffset does)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def over_25(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """351: the child's 25th birthday is not before the start of the collection year."""
    born = rows.date_of_birth
    if born is None or rows.header_line is None:
        return
    birthday = _plus_years(born, OLDEST)
    if year.start > birthday:
        message = (
            f"DOB {format_date(born)}: the child turned {OLDEST} on {format_date(birthday)}, "
            f"before the {year.label} collection year began ({format_date(year.start)}); no "
            f"child in a return is over {OLDEST}."
        )
        yield Finding(FileKind.header, rows.header_line, "DOB", "over_25", "351", message)


RULES: tuple[Rule, ...] = (short_breaks_not_reviewed, over_25)
