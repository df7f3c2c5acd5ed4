"""DfE validation rules on a child's episodes and legal statuses (see `dfe.py`).

Each rule decides as the DfE validator's own code does (csc-validator-be-903,
`lac_validator/rules/lac2022_23/rule_N.py`; no later year changes these rules). Every one looks
at DECOM, DEC, RNE, LS or REC (with the Header's DOB), which make the child's periods of care
and legal statuses, so each is an error: the child is held back.

An open episode (no DEC) counts to the end of the collection year, as the DfE's does. Where the
DfE's code does something particular it is kept and said in the rule's docstring:

- 361 and 362 chain the child's L1 (L2) episodes in DECOM order: an episode joins the chain of
  the child's previous L1 (L2) episode when that one's DEC is the DECOM of the episode right
  after it (whatever that one's legal status); a chain lasts from its first DECOM to its last DEC.
- 363 and 364 add up the durations of the child's L3 (J2) episodes in a run where each starts
  on or before the previous one's DEC. The DfE's code means to sort by DECOM but drops the
  sorted result, so the runs follow the rows' order in the file; so do they here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from reviews_api.imports.collection import CollectionYear
from reviews_api.imports.dates import format_date
from reviews_api.imports.dfe import ChildRows, Finding, Rule
from reviews_api.imports.files import FileKind
from reviews_api.imports.plan import EpisodePlan

# REC codes after which the child has left care (rule 432): all but X1.
LEFT_CARE = frozenset(
    {"E2", "E3", "E4A", "E4B", "E5", "E6", "E7", "E8", "E9", "E11", "E12", "E13", "E14"}
    | {"E15", "E16", "E17", "E41", "E45", "E46", "E47", "E48"}
)
CONTINUATION = frozenset({"P", "L", "T", "U", "B"})  # RNE of an episode in a period (433)
FIRST_DECOM = date(1991, 10, 14)  # the Children Act 1989 in force (rule 353)
FREEING_ENDED = date(2005, 12, 31)  # D1 (freeing order) after this is refused (445)
E1_FROM = date(2005, 12, 1)  # E1 (placement order) before this is refused (446)
D1_RULES_WITHDRAWN = 2025  # 445 and 451 are not in the DfE's rules from 2024/25 on


def _error(episode: EpisodePlan, field: str, code: str, rule: str, message: str) -> Finding:
    return Finding(FileKind.episodes, episode.line, field, code, rule, message)


def _end(episode: EpisodePlan, year: CollectionYear) -> date:
    """DEC; an open episode counts to the end of the collection year."""
    return episode.end_on if episode.end_on is not None else year.end


def _to(episode: EpisodePlan, year: CollectionYear) -> str:
    if episode.end_on is None:
        return f"{format_date(year.end)} (open: counted to the end of {year.label})"
    return format_date(episode.end_on)


def _plus_years(day: date, years: int) -> date:
    """`day` `years` on; 29 February to 28 February (as pandas' DateOffset does)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _lines(episodes: list[EpisodePlan]) -> str:
    return ", ".join(str(e.line) for e in episodes)


# -- 388, 357: how periods of care start and end ---------------------------------------------


def x1_continuation(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """388: an episode ending X1 is followed by one starting the day it ends; one followed the
    same day ends X1; the child's last episode does not end X1."""
    episodes = rows.episodes
    for at, episode in enumerate(episodes):
        following = episodes[at + 1] if at + 1 < len(episodes) else None
        end, rec = episode.end_on, episode.reason_ended
        if end is None or rec is None:
            continue
        if following is None:
            if rec == "X1":
                yield _error(
                    episode,
                    "REC",
                    "x1_last_episode",
                    "388",
                    f"REC X1 (a new episode begins) on DEC {format_date(end)}, but this is the "
                    "child's last episode: no episode starts that day. A child who leaves care "
                    "has the reason they left.",
                )
        elif rec == "X1" and end != following.start_on:
            yield _error(
                episode,
                "REC",
                "x1_without_continuation",
                "388",
                f"REC X1 (a new episode begins) on DEC {format_date(end)}, but the next episode "
                f"(line {following.line}) starts on {format_date(following.start_on)}, not the "
                "same day.",
            )
        elif rec != "X1" and end == following.start_on:
            yield _error(
                episode,
                "REC",
                "continuation_not_x1",
                "388",
                f"The episode ends on {format_date(end)} with REC {rec}, but the next episode "
                f"(line {following.line}) starts the same day: the child is still looked "
                "after, so REC should be X1.",
            )


def first_episode_s(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """357: the child's first episode, if it starts on or after the collection year's start,
    starts a period of care (RNE S)."""
    if not rows.episodes:
        return
    first = rows.episodes[0]
    if first.start_on >= year.start and first.reason_new_episode != "S":
        yield _error(
            first,
            "RNE",
            "first_episode_not_s",
            "357",
            f"RNE {first.reason_new_episode!r} on the child's first episode (DECOM "
            f"{format_date(first.start_on)}): a first episode starts care, RNE S. Is an "
            "earlier episode missing from the file?",
        )


# -- 361 to 367, 426: how long short legal statuses and respite last -------------------------


def _chains(rows: ChildRows, status: str, year: CollectionYear) -> list[list[EpisodePlan]]:
    """361/362: the child's episodes of `status`, chained as the DfE's code does."""
    chains: list[list[EpisodePlan]] = []
    flows = False  # the previous episode of `status` ended the day the next episode began
    episodes = rows.episodes
    for at, episode in enumerate(episodes):
        if episode.legal_status != status:
            continue
        if chains and flows:
            chains[-1].append(episode)
        else:
            chains.append([episode])
        following = episodes[at + 1] if at + 1 < len(episodes) else None
        flows = following is not None and _end(episode, year) == following.start_on
    return chains


def _chain_rule(status: str, what: str, limit: int, allowed: str, code: str, rule: str) -> Rule:
    def check(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
        for chain in _chains(rows, status, year):
            start = min(e.start_on for e in chain)
            last = max(chain, key=lambda e: _end(e, year))
            days = (_end(last, year) - start).days
            if days <= limit:
                continue
            span = (
                f"from {format_date(start)} to {_to(last, year)}"
                if len(chain) == 1
                else f"in the episodes on lines {_lines(chain)}, one after another, from "
                f"{format_date(start)} to {_to(last, year)}"
            )
            for episode in chain:
                yield _error(
                    episode,
                    "LS",
                    code,
                    rule,
                    f"LS {status} ({what}) {span} lasts {days} days; {allowed}.",
                )

    check.__doc__ = f"{rule}: {status} lasts at most {limit} days (consecutive episodes chained)."
    return check


def _runs(rows: ChildRows, status: str, year: CollectionYear) -> list[list[EpisodePlan]]:
    """363/364: the child's episodes of `status` in file order, in runs where each starts on or
    before the previous one's DEC (as the DfE's code does)."""
    runs: list[list[EpisodePlan]] = []
    previous: EpisodePlan | None = None
    for episode in sorted(rows.episodes, key=lambda e: e.line):
        if episode.legal_status != status:
            continue
        if previous is None or episode.start_on > _end(previous, year):
            runs.append([episode])
        else:
            runs[-1].append(episode)
        previous = episode
    return runs


def _run_rule(status: str, what: str, limit: int, allowed: str, code: str, rule: str) -> Rule:
    def check(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
        for run in _runs(rows, status, year):
            days = sum((_end(e, year) - e.start_on).days for e in run)
            if days <= limit:
                continue
            for episode in run:
                span = (
                    f"from {format_date(episode.start_on)} to {_to(episode, year)}"
                    if len(run) == 1
                    else f"in the episodes on lines {_lines(run)} (this one from "
                    f"{format_date(episode.start_on)} to {_to(episode, year)})"
                )
                yield _error(
                    episode,
                    "LS",
                    code,
                    rule,
                    f"LS {status} ({what}) {span} lasts {days} days in all; {allowed}.",
                )

    check.__doc__ = f"{rule}: {status} lasts at most {limit} days (contiguous episodes summed)."
    return check


police_protection = _chain_rule(
    "L1",
    "police protection",
    3,
    "police protection lasts at most 72 hours (3 days)",
    "police_protection_too_long",
    "361",
)
emergency_protection = _chain_rule(
    "L2",
    "emergency protection order",
    21,
    "an emergency protection order lasts at most 21 days",
    "emergency_protection_too_long",
    "362",
)
assessment_order = _run_rule(
    "L3",
    "child assessment order",
    7,
    "a child assessment order lasts at most 7 days",
    "assessment_order_too_long",
    "363",
)
pace_detention = _run_rule(
    "J2",
    "detained under PACE",
    21,
    "detention in local authority accommodation under PACE lasts at most 21 days",
    "pace_detention_too_long",
    "364",
)


def respite_break_length(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """365: a single V3 (short-term break) episode lasts at most 17 days."""
    for episode in rows.episodes:
        if episode.legal_status != "V3":
            continue
        days = (_end(episode, year) - episode.start_on).days
        if days > 17:
            yield _error(
                episode,
                "DEC",
                "respite_break_too_long",
                "365",
                f"LS V3 (a short-term break) from {format_date(episode.start_on)} to "
                f"{_to(episode, year)} lasts {days} days; a single short break lasts at most "
                "17 days.",
            )


def respite_break_starts(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """366: a V3 episode is a break of its own (RNE S): the placement does not change during
    a short break."""
    for episode in rows.episodes:
        if episode.legal_status == "V3" and episode.reason_new_episode != "S":
            yield _error(
                episode,
                "RNE",
                "respite_break_not_s",
                "366",
                f"RNE {episode.reason_new_episode!r} on a V3 (short-term break) episode starting "
                f"{format_date(episode.start_on)}: each short break is an episode of its own "
                "with RNE S; the placement does not change during a break.",
            )


def respite_year_total(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """367: V3 episodes add up to at most 75 days in the collection year (each cut to the year;
    an open one counts to the year's end)."""
    counted: list[tuple[EpisodePlan, int]] = []
    for episode in rows.episodes:
        if episode.legal_status != "V3":
            continue
        start = max(episode.start_on, year.start)
        end = min(_end(episode, year), year.end)
        if (end - start).days > 0:
            counted.append((episode, (end - start).days))
    total = sum(days for _, days in counted)
    if total <= 75:
        return
    for episode, days in counted:
        yield _error(
            episode,
            "LS",
            "respite_year_too_long",
            "367",
            f"LS V3 (short-term breaks) adds up to {total} days in {year.label} (this episode, "
            f"from {format_date(episode.start_on)}, {days} of them; lines "
            f"{_lines([e for e, _ in counted])}); short breaks total at most 75 days a year.",
        )


def respite_v3_and_v4(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """426: a child is not recorded under both V3 and V4."""
    respite = [e for e in rows.episodes if e.legal_status in ("V3", "V4")]
    if {e.legal_status for e in respite} != {"V3", "V4"}:
        return
    for episode in respite:
        other = "V4" if episode.legal_status == "V3" else "V3"
        lines = _lines([e for e in respite if e.legal_status == other])
        yield _error(
            episode,
            "LS",
            "respite_v3_and_v4",
            "426",
            f"LS {episode.legal_status} (episode from {format_date(episode.start_on)}), but the "
            f"child also has {other} episodes (lines {lines}): a child's short breaks are "
            "either single breaks (V3) or a pre-planned series (V4), not both.",
        )


# -- The other DfE rules on the sequence of episodes -----------------------------------------


def episode_under_a_day(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """355: an episode does not end the day it starts."""
    for episode in rows.episodes:
        if episode.end_on == episode.start_on:
            yield _error(
                episode,
                "DEC",
                "episode_under_a_day",
                "355",
                f"DEC {format_date(episode.start_on)} is the day the episode started (DECOM): "
                "an episode lasts at least 24 hours.",
            )


def decom_before_1991(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """353: no episode starts before 14/10/1991 (the Children Act 1989 in force)."""
    for episode in rows.episodes:
        if episode.start_on < FIRST_DECOM:
            yield _error(
                episode,
                "DECOM",
                "decom_before_1991",
                "353",
                f"DECOM {format_date(episode.start_on)} is before 14/10/1991: no episode "
                "reported starts before the Children Act 1989 came into force.",
            )


def _previous(rows: ChildRows) -> Iterator[tuple[EpisodePlan, EpisodePlan]]:
    """Each episode after the child's first, with the one before it in DECOM order."""
    yield from zip(rows.episodes[1:], rows.episodes, strict=False)


def s_after_same_day_end(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """431: an episode with RNE S (care starts) does not start on or before the day the
    previous episode ended."""
    for episode, before in _previous(rows):
        if (
            episode.reason_new_episode == "S"
            and before.end_on is not None
            and episode.start_on <= before.end_on
        ):
            yield _error(
                episode,
                "RNE",
                "s_continues_episode",
                "431",
                f"RNE S (care starts) on DECOM {format_date(episode.start_on)}, but the previous "
                f"episode (line {before.line}) ended on {format_date(before.end_on)}: the child "
                "was still looked after, so this episode continues the period of care.",
            )


def new_period_not_s(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """432: after an episode whose REC says the child left care, the next episode has RNE S."""
    for episode, before in _previous(rows):
        if before.reason_ended in LEFT_CARE and episode.reason_new_episode != "S":
            yield _error(
                episode,
                "RNE",
                "new_period_not_s",
                "432",
                f"RNE {episode.reason_new_episode!r} on DECOM {format_date(episode.start_on)}, "
                f"but the previous episode (line {before.line}) ended with REC "
                f"{before.reason_ended} (left care): care starts again, so RNE should be S.",
            )


def continuation_same_day(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """433: an episode continuing a period of care (RNE P, L, T, U or B) starts the day the
    previous episode ended (the DfE sorts by DECOM, then DEC, an open episode last)."""
    ordered = sorted(rows.episodes, key=lambda e: (e.start_on, e.end_on or date.max))
    for episode, before in zip(ordered[1:], ordered, strict=False):
        if episode.reason_new_episode in CONTINUATION and before.end_on != episode.start_on:
            ended = (
                "has not ended"
                if before.end_on is None
                else f"ended on {format_date(before.end_on)}"
            )
            yield _error(
                episode,
                "DECOM",
                "continuation_not_same_day",
                "433",
                f"RNE {episode.reason_new_episode!r} continues a period of care, but DECOM "
                f"{format_date(episode.start_on)} is not the day the previous episode (line "
                f"{before.line}) ended: it {ended}.",
            )


def episode_after_final_end(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """437: no episode follows one that ended E2 (died) or E15 (found to be 18 or over)."""
    for before, episode in zip(rows.episodes, rows.episodes[1:], strict=False):
        if before.reason_ended in ("E2", "E15"):
            why = "the child died" if before.reason_ended == "E2" else "the child is 18 or over"
            yield _error(
                before,
                "REC",
                "episode_after_final_end",
                "437",
                f"REC {before.reason_ended} ({why}) on DEC {_to(before, year)}, but a later "
                f"episode (line {episode.line}) starts on {format_date(episode.start_on)}.",
            )


def legal_status_dates(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """445: LS D1 (freeing order) not on an episode starting after 31/12/2005; 446: LS E1
    (placement order) not on one starting before 01/12/2005; 451: D1 not on an open episode.
    The DfE withdrew 445 and 451 from 2024/25 on."""
    d1_rules = year.ends < D1_RULES_WITHDRAWN
    for episode in rows.episodes:
        start = format_date(episode.start_on)
        if d1_rules and episode.legal_status == "D1" and episode.start_on > FREEING_ENDED:
            yield _error(
                episode,
                "LS",
                "freeing_order_after_2005",
                "445",
                f"LS D1 (freeing order) on an episode starting {start}: freeing orders ended on "
                "30/12/2005; use E1 (placement order).",
            )
        if episode.legal_status == "E1" and episode.start_on < E1_FROM:
            yield _error(
                episode,
                "LS",
                "placement_order_before_2005",
                "446",
                f"LS E1 (placement order) on an episode starting {start}: placement orders "
                "began in December 2005; use D1 (freeing order).",
            )
        if d1_rules and episode.legal_status == "D1" and episode.end_on is None:
            yield _error(
                episode,
                "LS",
                "freeing_order_open",
                "451",
                f"LS D1 (freeing order) on an episode starting {start} that is still open: no "
                "child has been freed for adoption since 30/12/2005.",
            )


# -- Ages (the Header's DOB) -----------------------------------------------------------------


def _age_rule(
    codes: frozenset[str],
    years: int,
    code: str,
    rule: str,
    *,
    breaks: str,  # "under": DEC before the birthday; "from": on or after; "after": after
    what: str,
    why: str,
) -> Rule:
    def check(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
        born = rows.date_of_birth
        if born is None:
            return
        birthday = _plus_years(born, years)
        for episode in rows.episodes:
            end = episode.end_on
            if end is None or episode.reason_ended not in codes:
                continue
            broken = {"under": end < birthday, "from": end >= birthday, "after": end > birthday}
            if broken[breaks]:
                yield _error(
                    episode,
                    "REC",
                    code,
                    rule,
                    f"REC {episode.reason_ended} ({what}) on DEC {format_date(end)}, but the "
                    f"child (born {format_date(born)}) turned {years} on "
                    f"{format_date(birthday)}: {why}.",
                )

    check.__doc__ = f"{rule}: REC {', '.join(sorted(codes))} against the child's age."
    return check


adopted_aged_18 = _age_rule(
    frozenset({"E11", "E12"}),
    18,
    "adopted_aged_18",
    "386",
    breaks="from",
    what="adopted",
    why="a child is adopted before turning 18",
)
independent_living_under_14 = _age_rule(
    frozenset({"E5", "E6"}),
    14,
    "independent_living_under_14",
    "387",
    breaks="under",
    what="moved into independent living",
    why="a child moves into independent living at 14 or over",
)
adult_services_under_16 = _age_rule(
    frozenset({"E7"}),
    16,
    "adult_services_under_16",
    "389",
    breaks="under",
    what="transferred to adult social care",
    why="a child transfers to adult social care at 16 or over",
)
sgo_after_18 = _age_rule(
    frozenset({"E45", "E46", "E47", "E48"}),
    18,
    "special_guardianship_after_18",
    "407",
    breaks="after",
    what="special guardianship order",
    why="a special guardianship order is made by the child's 18th birthday",
)
stayed_with_carers_under_18 = _age_rule(
    frozenset({"E17"}),
    18,
    "stayed_with_carers_under_18",
    "460",
    breaks="under",
    what="stayed with current carers at 18",
    why="this reason is for a young person who has turned 18",
)


def started_care_aged_18(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """352: a child does not start to be looked after (RNE S) at 18 or over."""
    born = rows.date_of_birth
    if born is None:
        return
    eighteen = _plus_years(born, 18)
    for episode in rows.episodes:
        if episode.reason_new_episode == "S" and episode.start_on >= eighteen:
            yield _error(
                episode,
                "DECOM",
                "started_care_aged_18",
                "352",
                f"RNE S (care starts) on DECOM {format_date(episode.start_on)}, but the child "
                f"(born {format_date(born)}) turned 18 on {format_date(eighteen)}: a young "
                "person does not start to be looked after at 18 or over.",
            )


def custody_status_under_10(rows: ChildRows, year: CollectionYear) -> Iterator[Finding]:
    """358: LS J1, J2 or J3 (remand, PACE, sentence) only for a child over 10 at DECOM."""
    born = rows.date_of_birth
    if born is None:
        return
    ten = _plus_years(born, 10)
    for episode in rows.episodes:
        if episode.legal_status in ("J1", "J2", "J3") and episode.start_on <= ten:
            yield _error(
                episode,
                "LS",
                "custody_status_under_10",
                "358",
                f"LS {episode.legal_status} on an episode starting "
                f"{format_date(episode.start_on)}, but the child (born {format_date(born)}) was "
                f"not over 10 then (10 on {format_date(ten)}): a child under the age of "
                "criminal responsibility is not remanded, detained or sentenced.",
            )


RULES: tuple[Rule, ...] = (
    x1_continuation,
    first_episode_s,
    police_protection,
    emergency_protection,
    assessment_order,
    pace_detention,
    respite_break_length,
    respite_break_starts,
    respite_year_total,
    respite_v3_and_v4,
    episode_under_a_day,
    decom_before_1991,
    s_after_same_day_end,
    new_period_not_s,
    continuation_same_day,
    episode_after_final_end,
    legal_status_dates,
    started_care_aged_18,
    custody_status_under_10,
    adopted_aged_18,
    independent_living_under_14,
    adult_services_under_16,
    sgo_after_18,
    stayed_with_carers_under_18,
)
