"""DfE validation rules on an episode's placement type (PLACE), reported as warnings.

This service stores PLACE but computes nothing from it, so a rule that looks at PLACE (with
the dates, LS, RNE and REC the service does read) is a warning: it is reported with the DfE's
rule number and the child loads. Each rule decides as the DfE validator's own code does
(csc-validator-be-903, `lac_validator/rules/lac20XX_YY/rule_N.py`), by the collection year:
the validator describes 2022/23 on, and a year before 2022/23 is judged by the 2022/23 rules.

Not here: 503D (needs last year's return), 383 from 2025/26 (needs PL_POST), and the rules that
need PLACE_PROVIDER, PL_POST, URN, PL_LA or the adoption and provider tables, none of which the
service reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from reviews_api.imports.collection import LAST, CollectionYear
from reviews_api.imports.dates import format_date
from reviews_api.imports.dfe import ChildRows, Finding, Rule
from reviews_api.imports.files import FileKind
from reviews_api.imports.plan import EpisodePlan

TEMPORARY = frozenset({"T0", "T1", "T2", "T3", "T4"})
ADOPTION = frozenset({"A3", "A4", "A5", "A6"})
FOSTER_WITH_FORMER_CARERS = frozenset({"U1", "U2", "U3", "U4", "U5", "U6"})
RESPITE = frozenset({"V3", "V4"})
P2_WITHDRAWN = date(2023, 10, 28)  # rule 217t (2023/24)


def _warn(episode: EpisodePlan, code: str, rule: str, message: str) -> Finding:
    return Finding(FileKind.episodes, episode.line, "PLACE", code, rule, message, warning=True)


def _shown(value: str | None) -> str:
    return repr(value) if value else "blank"


def _plus_years(day: date, years: int) -> date:
    """`day` `years` on; 29 February to 28 February (as pandas' DateOffset does)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def place_code(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """146: PLACE is one of the year's placement codes. The DfE's validator lets a blank PLACE
    pass this rule; a blank is reported here too (the DfE expects a placement on every episode),
    as this service's own check."""
    for episode in rows.episodes:
        place = episode.placement
        if place is None:
            message = "PLACE is blank: every episode should give the child's placement type."
            yield Finding(
                FileKind.episodes, episode.line, "PLACE", "place_missing", None, message, True
            )
        elif place not in year.place_codes:
            message = f"PLACE {place!r} is not a {year.label} placement code."
            yield _warn(episode, "place_code_unknown", "146", message)


def adoption_with_foster_carers_rne(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """217: an episode from 01/04/2015 with PLACE A3 or A5 has RNE S, T or U."""
    for episode in rows.episodes:
        if (
            episode.placement in ("A3", "A5")
            and episode.start_on >= date(2015, 4, 1)
            and episode.reason_new_episode not in ("S", "T", "U")
        ):
            yield _warn(
                episode,
                "adoption_place_rne",
                "217",
                f"PLACE {episode.placement} (placed for adoption with current foster carers) "
                f"starts with RNE {episode.reason_new_episode!r}; it should be S, T or U.",
            )


def p2_withdrawn(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """217t (2023/24 only): PLACE P2 ends on or before 28/10/2023."""
    if year.ends != 2024:
        return
    for episode in rows.episodes:
        if episode.placement == "P2" and (episode.end_on is None or episode.end_on > P2_WITHDRAWN):
            until = (
                "is still open"
                if episode.end_on is None
                else f"ends on {format_date(episode.end_on)}"
            )
            yield _warn(
                episode,
                "place_withdrawn",
                "217t",
                f"PLACE 'P2' is not a placement type after 28/10/2023, and this episode {until}.",
            )


def fostered_before_adoption(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """336: an episode with PLACE A3 or A4, other than the child's first, follows a foster or
    adoption placement (A3-A6, U1-U6)."""
    for previous, episode in zip(rows.episodes, rows.episodes[1:], strict=False):
        if episode.placement in ("A3", "A4") and (
            previous.placement not in ADOPTION | FOSTER_WITH_FORMER_CARERS
        ):
            yield _warn(
                episode,
                "adoption_not_after_foster",
                "336",
                f"PLACE {episode.placement} (placed for adoption) follows PLACE "
                f"{_shown(previous.placement)} (line {previous.line}); the placement before "
                "should be a foster or adoption placement (A3-A6, U1-U6).",
            )


def over_18(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """359: a child who is 18 before the end of the collection year and still looked after is
    accommodated under LS V2 in PLACE K2. (In one run of many rules the DfE's validator lets
    its rule 365 fill every blank DEC in place first, and 359 then finds no open episode; run on
    its own, 359 decides as here.)"""
    born = rows.date_of_birth
    if born is None or not _plus_years(born, 18) < year.end:
        return
    for episode in rows.episodes:
        if episode.end_on is None and not (
            episode.legal_status == "V2" and episode.placement == "K2"
        ):
            yield _warn(
                episode,
                "over_18_not_v2_k2",
                "359",
                f"The child is 18 on {format_date(_plus_years(born, 18))} and this episode is "
                f"still open with LS {episode.legal_status} and PLACE "
                f"{_shown(episode.placement)}; after 18 a child is looked after only under LS V2 "
                "in PLACE K2.",
            )


def _minimum_age(rule: str, place: str, years: int, what: str, until: int | None = None) -> Rule:
    """370-374: an ended episode in `place` starts on or after the child's birthday `years`."""

    def check(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
        born = rows.date_of_birth
        if born is None or (until is not None and year.ends > until):
            return
        old_enough = _plus_years(born, years)
        for episode in rows.episodes:
            if (
                episode.placement == place
                and episode.end_on is not None
                and episode.start_on < old_enough
            ):
                yield _warn(
                    episode,
                    "place_under_age",
                    rule,
                    f"PLACE {place} ({what}) starts on {format_date(episode.start_on)}, before "
                    f"the child is {years} on {format_date(old_enough)}.",
                )

    return check


def _years_for(by_year: tuple[tuple[int, Rule], ...]) -> Rule:
    """A rule whose version changes by year: (the last year a version applies to, it)."""

    def check(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
        for last, version in by_year:
            if year.ends <= last:
                yield from version(rows, year)
                return

    return check


def _longest(rule: str, place: str, days: int, what: str, limit: str) -> Rule:
    """375, 376, 379: an episode in `place` ends within `days` of its start (when the child
    has a readable date of birth, as the DfE's check needs the Header row)."""

    def check(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
        if rows.date_of_birth is None:
            return
        for episode in rows.episodes:
            if (
                episode.placement == place
                and episode.end_on is not None
                and episode.end_on > episode.start_on + timedelta(days=days)
            ):
                yield _warn(
                    episode,
                    "temporary_place_too_long",
                    rule,
                    f"PLACE {place} ({what}) lasts from {format_date(episode.start_on)} to "
                    f"{format_date(episode.end_on)}, more than {limit}.",
                )

    return check


def holiday_placements(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """377: at most two episodes with PLACE T3 (as the DfE's code counts: in the whole file)."""
    t3 = [e for e in rows.episodes if e.placement == "T3"]
    if len(t3) > 2:
        for episode in t3:
            yield _warn(
                episode,
                "too_many_holiday_placements",
                "377",
                f"PLACE T3 (holiday of the usual foster carer) is used for {len(t3)} episodes of "
                "this child; at most 2 are allowed in a year.",
            )


def temporary_start(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """380: an episode in a temporary placement (T0-T4) starts with RNE P or B."""
    for episode in rows.episodes:
        if episode.placement in TEMPORARY and episode.reason_new_episode not in ("P", "B"):
            yield _warn(
                episode,
                "temporary_place_rne",
                "380",
                f"PLACE {episode.placement} is a temporary placement but starts with RNE "
                f"{episode.reason_new_episode!r}; a temporary placement starts with RNE P or B.",
            )


def temporary_end(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """381: an episode in a temporary placement (T0-T4) that ends has REC X1."""
    for episode in rows.episodes:
        rec = episode.reason_ended
        if episode.placement in TEMPORARY and rec is not None and rec != "X1":
            yield _warn(
                episode,
                "ends_in_temporary_place",
                "381",
                f"PLACE {episode.placement} is a temporary placement and the episode ends with "
                f"REC {rec!r}; a period of care cannot end in a temporary placement.",
            )


def _legal_and_place(
    rule: str, code: str, statuses: frozenset[str], places: frozenset[str], why: str
) -> Rule:
    """378, 382, 384: LS in `statuses` together with PLACE in `places`."""

    def check(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
        for episode in rows.episodes:
            if episode.legal_status in statuses and episode.placement in places:
                yield _warn(
                    episode,
                    code,
                    rule,
                    f"PLACE {episode.placement} with LS {episode.legal_status}: {why}.",
                )

    return check


def return_after_temporary(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """383 (to 2024/25): the episode after a temporary placement (T0-T4) has RNE P and the
    PLACE of the episode before the temporary one (checked from a child's third episode)."""
    if year.ends > 2025:
        return  # from 2025/26 the rule also compares PL_POST, which this service does not read
    episodes = rows.episodes
    for before, temporary, episode in zip(episodes, episodes[1:], episodes[2:], strict=False):
        if temporary.placement in TEMPORARY and (
            episode.reason_new_episode != "P"
            or episode.placement is None
            or episode.placement != before.placement
        ):
            yield _warn(
                episode,
                "no_return_after_temporary_place",
                "383",
                f"After the temporary PLACE {temporary.placement} (line {temporary.line}) the "
                f"child should return to PLACE {_shown(before.placement)} with RNE P; this "
                f"episode has PLACE {_shown(episode.placement)} and RNE "
                f"{episode.reason_new_episode!r}.",
            )


def adopted_from(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """390: an episode ending with REC E11 or E12 (adopted) has PLACE A3-A6."""
    for episode in rows.episodes:
        if episode.reason_ended in ("E11", "E12") and episode.placement not in ADOPTION:
            yield _warn(
                episode,
                "adopted_without_adoption_place",
                "390",
                f"REC {episode.reason_ended} (adopted) but PLACE {_shown(episode.placement)} is "
                "not a placement for adoption (A3-A6).",
            )


def adoption_placement_order(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """408: an episode with PLACE A5 or A6 (placed for adoption with a placement order) has
    LS E1."""
    for episode in rows.episodes:
        if episode.placement in ("A5", "A6") and episode.legal_status != "E1":
            yield _warn(
                episode,
                "adoption_place_without_e1",
                "408",
                f"PLACE {episode.placement} (placed for adoption with a placement order) but LS "
                f"is {episode.legal_status}, not E1 (placement order).",
            )


def former_foster_carers(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """516: an episode ending with REC E45 or E46 has PLACE U1-U6."""
    for episode in rows.episodes:
        if episode.reason_ended in ("E45", "E46") and (
            episode.placement not in FOSTER_WITH_FORMER_CARERS
        ):
            yield _warn(
                episode,
                "former_carers_without_foster_place",
                "516",
                f"REC {episode.reason_ended} (living with former foster carers) but PLACE "
                f"{_shown(episode.placement)} is not a foster placement (U1-U6).",
            )


INDEPENDENT = "independent living"
SEMI_INDEPENDENT = "semi-independent living"

RULES: tuple[Rule, ...] = (
    place_code,
    adoption_with_foster_carers_rne,
    p2_withdrawn,
    fostered_before_adoption,
    over_18,
    # 370: P2 from 15 (2022/23), from 16 (2023/24); not a rule from 2024/25.
    _years_for(
        (
            (2023, _minimum_age("370", "P2", 15, INDEPENDENT)),
            (2024, _minimum_age("370", "P2", 16, INDEPENDENT)),
        ),
    ),
    # 371: H5 from 14 (2022/23), from 16 (2023/24); K3 from 16 (2024/25 on).
    _years_for(
        (
            (2023, _minimum_age("371", "H5", 14, SEMI_INDEPENDENT)),
            (2024, _minimum_age("371", "H5", 16, SEMI_INDEPENDENT)),
            (LAST, _minimum_age("371", "K3", 16, "supported accommodation")),
        ),
    ),
    _minimum_age("372", "R5", 10, "youth custody or prison"),
    _minimum_age("373", "S1", 4, "a school"),
    _minimum_age("374", "P3", 14, "residential employment"),
    _longest("375", "T1", 42, "temporary, in hospital", "six weeks"),
    _longest("376", "T3", 21, "temporary, holiday of the usual foster carer", "three weeks"),
    _longest("379", "T4", 7, "temporary, for another reason", "seven days"),
    holiday_placements,
    temporary_start,
    temporary_end,
    _legal_and_place(
        "378",
        "parents_under_v2",
        frozenset({"V2"}),
        frozenset({"P1"}),
        "a child placed with parents cannot be in a single period of accommodation (V2)",
    ),
    _legal_and_place(
        "382",
        "respite_temporary_place",
        RESPITE,
        TEMPORARY,
        "a child in respite care (V3, V4) cannot be in a temporary placement",
    ),
    return_after_temporary,
    _legal_and_place(
        "384",
        "respite_long_term_foster",
        RESPITE,
        frozenset({"U1", "U4"}),
        "a child in respite care (V3, V4) cannot be in a long-term foster placement",
    ),
    adopted_from,
    adoption_placement_order,
    former_foster_carers,
)
