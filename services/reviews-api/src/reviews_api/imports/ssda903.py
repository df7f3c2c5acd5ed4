"""Read and check an SSDA903 return: per-child load plans and every problem found.

Pure: no database, no clock (the caller says what today is). Every check names the file, the
line, the child, the column and a stable code. A child with a problem in any of its own rows is
left out of the plans entirely (never half-loaded); every other child is planned.
"""

from __future__ import annotations

import io
import marshal
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from itertools import pairwise
from typing import Any, overload

from iro_kit.errors import ProblemError
from iro_kit.schedule import EpisodeFacts, PeriodOfCare, periods_of_care
from reviews_api.codes import LegalStatus, ParticipationCode, ReasonNewEpisode
from reviews_api.imports import dfe
from reviews_api.imports.collection import collection_year, year_containing
from reviews_api.imports.dates import format_date, parse_date
from reviews_api.imports.files import CsvFile, FileKind, Row, Upload, read_csv, unpack
from reviews_api.imports.plan import (
    OUTCOME_FLAGS,
    ChildPlan,
    EpisodePlan,
    FileReport,
    ImportIssue,
    OutcomePlan,
    ReadReturn,
    ReviewPlan,
)
from reviews_api.imports.rows import HeaderRow, RowChecker
from reviews_api.reviews.service import check_participation

RNE_CODES = frozenset(ReasonNewEpisode.__args__)  # type: ignore[attr-defined]
LS_CODES = frozenset(LegalStatus.__args__)  # type: ignore[attr-defined]
REVIEW_CODES = frozenset(ParticipationCode.__args__)  # type: ignore[attr-defined]
REC_CODES = frozenset(
    {"X1", "E11", "E12", "E13", "E14", "E15", "E16", "E17", "E2", "E3", "E4A", "E4B", "E41"}
    | {"E45", "E46", "E47", "E48", "E5", "E6", "E7", "E8", "E9"}
)
SDQ_REASONS = frozenset({"SDQ1", "SDQ2", "SDQ3", "SDQ4", "SDQ5"})
FLAG_VALUES = {"0": False, "1": True}
MAX_PLACE = 3


PART = 10_000  # Header children per part of a larger return
PACK_BATCH = 500  # plans marshalled at a time into a part's compressed stream


def read_return(uploads: list[Upload], today: date, year_ending: date | None = None) -> ReadReturn:
    """Read the uploaded files (CSVs, or zips of them) as one return.

    `year_ending` is 31 March of the collection year: the year's codes and DfE rules apply, and
    OC2 rows are dated by it. By default it is the 31 March on or after the latest DECOM in the
    Episodes file (and the return says it was inferred).

    A return of more than `PART` children is read a part of its Header at a time (every check
    is of one child's rows, or of a file), so that what is held does not grow with the file as
    fast: every problem is found, as one reading finds it, before the first child is loaded;
    each part's plans are kept packed and unpacked as the loader reaches them
    (`ReadReturn.children` is then a `PartedChildren`).
    """
    files = [read_csv(upload) for upload in _distinct_names(unpack(uploads))]
    header = _header_file(files)
    if header is None or header.row_count <= PART:
        return _Checker(today).read(files, year_ending)
    return _read_in_parts(files, header, today, year_ending)


def _header_file(files: list[CsvFile]) -> CsvFile | None:
    """The Header file that will be read, if any (the first usable one, as `_choose` picks)."""
    for file in files:
        if file.kind is FileKind.header and not file.missing_columns:
            return file
    return None


class _Parts:
    """Which part each child's rows belong to: a Header child by its place in the Header (so
    the parts, in order, give the children in the Header's order), any other by a hash.

    Kept as the sorted `hash()`es of the Header's children and each one's part (a few bytes a
    child, not a dict of every child): a child whose hash is not among them is not in the
    Header. A child not in the Header whose hash is a Header child's is read with that child's
    part: any one part will do for it, so long as it is always the same. Two Header children of
    one hash (hardly ever) are told apart by name."""

    def __init__(self, header: CsvFile, size: int) -> None:
        self.size = size
        position: dict[str, int] = {}  # only while the parts are worked out
        for _, row in header.iter_rows():
            position.setdefault(row.get("CHILD", ""), len(position))
        self.count = max(1, -(-len(position) // size))
        ordered = sorted((hash(child), at // size) for child, at in position.items())
        self.hashes = array("q", [h for h, _ in ordered])
        self.parts = array("l", [part for _, part in ordered])
        shared = {h for h, after in pairwise(self.hashes) if h == after}
        # The Header children whose hash another one has, by name (none, as a rule).
        self.named = {c: at // size for c, at in position.items() if hash(c) in shared}

    def part_of(self, child: str) -> int:
        h = hash(child)
        at = bisect_left(self.hashes, h)
        if at == len(self.hashes) or self.hashes[at] != h:
            return _hash(child) % self.count  # not in the Header
        if self.named and child in self.named:
            return self.named[child]
        return self.parts[at]

    def wanted(self, part: int) -> Callable[[str], bool]:
        part_of = self.part_of

        def wanted(child: str) -> bool:  # the part of a Header child, or of another by hash
            return part_of(child) == part

        return wanted


def _hash(child: str) -> int:
    return zlib.crc32(child.encode("utf-8", "surrogatepass"))


def _read_part(
    files: list[CsvFile], parts: _Parts, part: int, today: date, year_ending: date | None
) -> ReadReturn:
    checker = _Checker(today)
    checker.wanted = parts.wanted(part)
    checker.first_part = part == 0
    return checker.read(files, year_ending)


def _read_in_parts(
    files: list[CsvFile], header: CsvFile, today: date, year_ending: date | None
) -> ReadReturn:
    parts = _Parts(header, PART)
    issues: list[ImportIssue] = []
    rejected: set[str] = set()
    reports: list[FileReport] = []
    packed: list[tuple[int, bytes]] = []
    inferred = False
    for part in range(parts.count):
        read = _read_part(files, parts, part, today, year_ending)
        if part == 0:
            # The year as the first part inferred it (or made it a year described): the same
            # for every part, and its warning given once.
            year_ending, inferred, reports = read.year_ending, read.year_inferred, read.files
        else:
            for report, more in zip(reports, read.files, strict=True):
                report.rows_by_child.update(more.rows_by_child)
                report.problem_lines.update(more.problem_lines)
        issues.extend(read.issues)
        rejected.update(read.rejected_children)
        packed.append((len(read.children), _pack(list(read.children))))
        del read  # one part's plans and checks held at a time
    assert year_ending is not None
    issues.sort(key=lambda i: (i.file or "", i.line or 0))  # as one read sorts them
    return ReadReturn(reports, PartedChildren(packed), issues, rejected, year_ending, inferred)


def _pack(plans: list[ChildPlan]) -> bytes:
    """A part's plans as compressed plain values (a few bytes a row), until they are loaded:
    `PACK_BATCH` plans at a time into one compressed stream, so that packing never holds a
    second copy of the part (a list of values, then its marshalled bytes) beside the plans."""
    packer = zlib.compressobj(1)
    pieces = []
    for start in range(0, len(plans), PACK_BATCH):
        values = [_packed_plan(p) for p in plans[start : start + PACK_BATCH]]
        pieces.append(packer.compress(marshal.dumps(values)))
    pieces.append(packer.flush())
    return b"".join(pieces)


def _packed_plan(p: ChildPlan) -> tuple[object, ...]:
    return (
        p.external_id,
        p.date_of_birth.toordinal(),
        p.sex,
        p.file,
        p.line,
        [
            (
                e.start_on.toordinal(),
                e.end_on and e.end_on.toordinal(),
                e.reason_new_episode,
                e.legal_status,
                e.placement,
                e.reason_ended,
                e.file,
                e.line,
            )
            for e in p.episodes
        ],
        [(r.held_on.toordinal(), r.participation_code, r.file, r.line) for r in p.reviews],
        _packed_outcome(p.outcome),
    )


def _packed_outcome(outcome: OutcomePlan | None) -> tuple[object, ...] | None:
    if outcome is None:
        return None
    return (outcome.sdq_score, outcome.sdq_reason, outcome.flags, outcome.file, outcome.line)


def _unpack(packed: bytes) -> list[ChildPlan]:
    days: dict[int, date] = {}

    def day(ordinal: int) -> date:
        found = days.get(ordinal)
        if found is None:
            found = days[ordinal] = date.fromordinal(ordinal)
        return found

    plans = []
    for child, born, sex, file, line, episodes, reviews, outcome in _values(packed):
        plan = ChildPlan(child, day(born), sex, file, line)
        plan.episodes = [
            EpisodePlan(day(start), end and day(end), rne, ls, place, rec, e_file, e_line)
            for start, end, rne, ls, place, rec, e_file, e_line in episodes
        ]
        plan.reviews = [
            ReviewPlan(day(held), code, r_file, r_line) for held, code, r_file, r_line in reviews
        ]
        if outcome is not None:
            plan.outcome = OutcomePlan(*outcome)
        plans.append(plan)
    return plans


def _values(packed: bytes) -> Iterator[tuple[Any, ...]]:
    """The plain values `_pack` wrote, a batch at a time."""
    stream = io.BytesIO(zlib.decompress(packed))
    end = len(stream.getbuffer())
    while stream.tell() < end:
        yield from marshal.load(stream)  # noqa: S302 (this process's own _pack)


class PartedChildren(Sequence[ChildPlan]):
    """The children of a return read in parts, in the Header's order: each part's plans kept
    packed (`_pack`), unpacked when a slice reaches them; only the last part is kept unpacked."""

    def __init__(self, packed: list[tuple[int, bytes]]) -> None:
        self._packed = [data for _, data in packed]
        self._starts = [0]
        for count, _ in packed:
            self._starts.append(self._starts[-1] + count)
        self._kept: tuple[int, list[ChildPlan]] | None = None

    def _part(self, part: int) -> list[ChildPlan]:
        if self._kept is None or self._kept[0] != part:
            self._kept = None  # let the last part go before unpacking the next
            self._kept = (part, _unpack(self._packed[part]))
        return self._kept[1]

    def __len__(self) -> int:
        return self._starts[-1]

    @overload
    def __getitem__(self, index: int) -> ChildPlan: ...

    @overload
    def __getitem__(self, index: slice) -> list[ChildPlan]: ...

    def __getitem__(self, index: int | slice) -> ChildPlan | list[ChildPlan]:
        if isinstance(index, int):
            at = index + len(self) if index < 0 else index
            if not 0 <= at < len(self):
                raise IndexError(index)
            return self[at : at + 1][0]
        start, stop, step = index.indices(len(self))
        if step != 1:
            return [self[n] for n in range(start, stop, step)]
        plans: list[ChildPlan] = []
        for part in range(len(self._starts) - 1):
            first, end = self._starts[part], self._starts[part + 1]
            if end <= start or first >= stop or first == end:
                continue
            taken = self._part(part)
            plans.extend(taken[max(start, first) - first : min(stop, end) - first])
        return plans


def _distinct_names(uploads: list[Upload]) -> list[Upload]:
    """Two files of one name (in two zips): the second is reported as `name (2)`."""
    seen: dict[str, int] = {}
    for upload in uploads:
        seen[upload.name] = seen.get(upload.name, 0) + 1
        if seen[upload.name] > 1:
            upload.name = f"{upload.name} ({seen[upload.name]})"
    return uploads


class _Checker(RowChecker):
    def __init__(self, today: date) -> None:
        super().__init__(today)
        self.review_rows: dict[str, list[ReviewPlan]] = {}  # every readable review, by child

    def read(self, files: list[CsvFile], year_ending: date | None) -> ReadReturn:
        chosen = self._choose(files)
        inferred = year_ending is None
        if year_ending is None:
            year_ending = self._infer_year_end(chosen.get(FileKind.episodes))
        self.year = collection_year(year_containing(year_ending))
        if self.year.end != year_ending:  # before 2015/16 or after 2026/27: the nearest year
            message = (
                f"The return's dates end in the collection year to {format_date(year_ending)}, "
                f"which this service does not describe; it is read as {self.year.label}, the "
                "nearest year it does."
            )
            code = "collection_year_not_described"
            self.issues.append(ImportIssue(None, None, None, None, code, message, warning=True))
            year_ending = self.year.end
        header = self._header(chosen.get(FileKind.header))
        has_header = FileKind.header in chosen
        episodes, broken = self._episodes(chosen.get(FileKind.episodes), header, has_header)
        reviews = self._reviews(chosen.get(FileKind.reviews), header, has_header, episodes, broken)
        self._whole_children(chosen, header, episodes, broken)
        outcomes = self._outcomes(chosen.get(FileKind.oc2), header, has_header)
        children = []
        for child, row in header.items():
            if child in self.rejected or row.date_of_birth is None or row.sex is None:
                continue
            plan = ChildPlan(child, row.date_of_birth, row.sex, row.file, row.line)
            plan.episodes = episodes.get(child, [])
            plan.reviews = reviews.get(child, [])
            plan.outcome = outcomes.get(child)
            children.append(plan)
        self.issues.sort(key=lambda i: (i.file or "", i.line or 0))
        return ReadReturn(
            list(self.reports.values()),
            children,
            self.issues,
            self.rejected,
            year_ending,
            inferred,
        )

    def _infer_year_end(self, file: CsvFile | None) -> date:
        """31 March on or after the latest readable DECOM (or today) that is not in the future."""
        latest = None
        if file is not None:
            for _, row in file.iter_rows():
                start = parse_date(row.get("DECOM", ""))
                if start is not None and start <= self.today and (latest is None or start > latest):
                    latest = start
        return date(year_containing(latest or self.today), 3, 31)

    # -- Episodes --------------------------------------------------------------------------

    def _episodes(
        self, file: CsvFile | None, header: dict[str, HeaderRow], has_header: bool
    ) -> tuple[dict[str, list[EpisodePlan]], set[str]]:
        """Each child's readable episodes, and the children with an unreadable one."""
        episodes: dict[str, list[EpisodePlan]] = {}
        broken: set[str] = set()
        if file is None:
            return episodes, broken
        for line, row in self._rows(file):
            child = self._child(file, line, row)
            if child is None:
                continue
            known = self._known_child(file, line, child, row, header, has_header, dob_column=None)
            episode = self._episode(file, line, child, row)
            if episode is None:
                broken.add(child)
                continue
            born = known.date_of_birth if known else None
            if born is not None and episode.start_on < born:
                self._issue(
                    file,
                    line,
                    child,
                    "DECOM",
                    "before_birth",
                    f"DECOM {format_date(episode.start_on)} is before the child's date of birth "
                    f"{format_date(born)}.",
                    rule="302",
                )
            episodes.setdefault(child, []).append(episode)
        for child, plans in episodes.items():
            plans.sort(key=lambda e: e.start_on)
            self._check_sequence(file, child, plans)
        return episodes, broken

    def _episode(self, file: CsvFile, line: int, child: str, row: Row) -> EpisodePlan | None:
        before = len(self.issues)
        start = self._date(file, line, child, row, "DECOM", need=True)
        end = self._date(file, line, child, row, "DEC", need=False)
        rne = self._code(file, line, child, row, "RNE", RNE_CODES, rule="143")
        legal_status = self._code(file, line, child, row, "LS", LS_CODES, rule="144")
        # DEC and REC are both present or both absent (DfE rule 148).
        if row.get("DEC"):
            needed = ("148", " when DEC is given")
            rec = self._code(file, line, child, row, "REC", REC_CODES, required=needed, rule="149")
        else:
            rec = None
            if row.get("REC"):
                message = f"REC {row.get('REC')!r} is given but DEC is blank: an episode that has "
                message += "not ended has no reason it ended."
                self._issue(file, line, child, "REC", "rec_without_dec", message, rule="148")
        place = row.get("PLACE", "").upper() or None
        if place is not None and len(place) > MAX_PLACE:
            self._issue(
                file, line, child, "PLACE", "too_long", f"PLACE {place!r} is over 3 characters."
            )
        if start is not None and end is not None and end < start:
            self._issue(
                file,
                line,
                child,
                "DEC",
                "dec_before_decom",
                f"DEC {format_date(end)} is before DECOM {format_date(start)}.",
                rule="356",
            )
        if len(self.issues) > before or start is None or rne is None or legal_status is None:
            return None
        return EpisodePlan(start, end, rne, legal_status, place, rec, file.name, line)

    def _check_sequence(self, file: CsvFile, child: str, plans: list[EpisodePlan]) -> None:
        latest: EpisodePlan | None = None  # the episode that ends last so far (open = never)
        previous: EpisodePlan | None = None
        for episode in plans:
            if previous is not None and episode.start_on == previous.start_on:
                self._issue(
                    file,
                    episode.line,
                    child,
                    "DECOM",
                    "duplicate_episode",
                    f"Another episode of child {child} starts on {format_date(episode.start_on)}"
                    f" (line {previous.line}).",
                )
            elif latest is not None and (latest.end_on is None or episode.start_on < latest.end_on):
                ends = (
                    "is still open"
                    if latest.end_on is None
                    else f"ends on {format_date(latest.end_on)}"
                )
                self._issue(
                    file,
                    episode.line,
                    child,
                    "DECOM",
                    "overlapping_episodes",
                    f"DECOM {format_date(episode.start_on)} overlaps the episode that started on "
                    f"{format_date(latest.start_on)} (line {latest.line}), which {ends}.",
                    rule=None if latest.end_on is None else "501",  # open: the DfE's rule 142
                )
            if _ends_later(episode, latest):
                latest = episode
            previous = episode

    # -- DfE rules on whole children -------------------------------------------------------

    def _whole_children(
        self,
        chosen: dict[FileKind, CsvFile],
        header: dict[str, HeaderRow],
        episodes: dict[str, list[EpisodePlan]],
        broken: set[str],
    ) -> None:
        """The DfE rules that need a child's other rows (`dfe.py`), for each child whose rows
        could all be read (a child with an unreadable episode is already held back)."""
        rules = dfe.rules()
        for child in sorted(header.keys() | episodes.keys() | self.review_rows.keys()):
            if child in broken:
                continue
            known = header.get(child)
            rows = dfe.ChildRows(
                child,
                known.date_of_birth if known else None,
                known.sex if known else None,
                known.line if known else None,
                episodes.get(child, []),
                self.review_rows.get(child, []),
            )
            for rule in rules:
                for found in rule(rows, self.year):
                    self._issue(
                        chosen[found.kind],
                        found.line,
                        child,
                        found.field,
                        found.code,
                        found.message,
                        rule=found.rule,
                        warning=found.warning,
                    )

    # -- Reviews ---------------------------------------------------------------------------

    def _reviews(
        self,
        file: CsvFile | None,
        header: dict[str, HeaderRow],
        has_header: bool,
        episodes: dict[str, list[EpisodePlan]],
        broken: set[str],
    ) -> dict[str, list[ReviewPlan]]:
        reviews: dict[str, list[ReviewPlan]] = {}
        if file is None:
            return reviews
        periods = {
            child: periods_of_care(
                EpisodeFacts(e.start_on, e.end_on, e.legal_status, e.reason_new_episode)
                for e in plans
            )
            for child, plans in episodes.items()
        }
        held: dict[tuple[str, date], int] = {}
        for line, row in self._rows(file):
            review = self._review(file, line, row, header, has_header, held)
            if review is None:
                continue
            child, plan = review
            # As a review recorded through the API: on a day inside a period of care. (Not
            # checked for a child already reported: not in the Header, or an episode unread.)
            checked = child in header and child not in broken
            if checked and not _in_care(periods.get(child, []), plan.held_on):
                message = f"REVIEW {format_date(plan.held_on)} is outside every episode."
                self._issue(file, line, child, "REVIEW", "review_outside_care", message)
                continue
            reviews.setdefault(child, []).append(plan)
        return reviews

    def _review(
        self,
        file: CsvFile,
        line: int,
        row: Row,
        header: dict[str, HeaderRow],
        has_header: bool,
        held: dict[tuple[str, date], int],
    ) -> tuple[str, ReviewPlan] | None:
        child = self._child(file, line, row)
        if child is None:
            return None
        known = self._known_child(file, line, child, row, header, has_header, dob_column="DOB")
        held_on = self._date(file, line, child, row, "REVIEW", need=True)
        # REVIEW_CODE is needed, and must be a code, for a review that is dated (DfE rule 167).
        needed = ("167", "") if row.get("REVIEW") else None
        code = self._code(
            file, line, child, row, "REVIEW_CODE", REVIEW_CODES, required=needed, rule="167"
        )
        if held_on is None or code is None:
            return None
        if (child, held_on) in held:
            message = (
                f"Child {child} already has a review on {format_date(held_on)} "
                f"(line {held[child, held_on]})."
            )
            self._issue(file, line, child, "REVIEW", "duplicate_review", message)
            return None
        held[child, held_on] = line
        plan = ReviewPlan(held_on, code, file.name, line)
        self.review_rows.setdefault(child, []).append(plan)  # for the DfE's whole-child rules
        born = known.date_of_birth if known else None
        if born is not None and not self._review_fits(file, line, child, held_on, code, born):
            return None
        return child, plan

    def _review_fits(
        self, file: CsvFile, line: int, child: str, held_on: date, code: str, born: date
    ) -> bool:
        if held_on < born:
            self._issue(
                file,
                line,
                child,
                "REVIEW",
                "before_birth",
                f"REVIEW {format_date(held_on)} is before the child's date of birth.",
            )
            return False
        try:  # the same rule as a review recorded through the API
            check_participation(code, born, held_on)
        except ProblemError as exc:
            message = exc.errors[0].message if exc.errors else exc.detail
            rule = "440" if code == "PN0" else "441"  # PN0 at 4 or over; PN1-PN7 under 4
            self._issue(
                file,
                line,
                child,
                "REVIEW_CODE",
                "participation_code_age",
                f"{message}.",
                rule=rule,
            )
            return False
        return True

    # -- OC2 -------------------------------------------------------------------------------

    def _outcomes(
        self, file: CsvFile | None, header: dict[str, HeaderRow], has_header: bool
    ) -> dict[str, OutcomePlan]:
        outcomes: dict[str, OutcomePlan] = {}
        if file is None:
            return outcomes
        for line, row in self._rows(file):
            child = self._child(file, line, row)
            if child is None:
                continue
            self._known_child(file, line, child, row, header, has_header, dob_column="DOB")
            if child in outcomes:
                self._issue(
                    file,
                    line,
                    child,
                    "CHILD",
                    "duplicate_child",
                    f"Child {child} is already in the OC2 file at line {outcomes[child].line}.",
                    rule="INT33",
                )
                continue
            outcome = self._outcome(file, line, child, row)
            if outcome is not None:
                outcomes[child] = outcome
        return outcomes

    def _outcome(self, file: CsvFile, line: int, child: str, row: Row) -> OutcomePlan | None:
        before = len(self.issues)
        score_text = row.get("SDQ_SCORE", "")
        score = int(score_text) if score_text.isdigit() else None
        if score_text and (score is None or score > 40):
            self._issue(
                file,
                line,
                child,
                "SDQ_SCORE",
                "out_of_range",
                f"SDQ_SCORE {score_text!r} is not a whole number from 0 to 40.",
            )
        reason = row.get("SDQ_REASON", "").upper() or None
        if reason is not None and reason not in SDQ_REASONS:
            self._issue(
                file,
                line,
                child,
                "SDQ_REASON",
                "invalid_code",
                f"SDQ_REASON {reason!r} is not one of SDQ1-SDQ5.",
            )
        flags: dict[str, bool | None] = {}
        for name in OUTCOME_FLAGS:
            value = row.get(name.upper(), "")
            if value and value not in FLAG_VALUES:
                self._issue(
                    file,
                    line,
                    child,
                    name.upper(),
                    "invalid_code",
                    f"{name.upper()} {value!r} is not 0 or 1.",
                )
            flags[name] = FLAG_VALUES.get(value)
        if len(self.issues) > before:
            return None
        return OutcomePlan(score, reason, flags, file.name, line)


def _ends_later(episode: EpisodePlan, than: EpisodePlan | None) -> bool:
    if than is None:
        return True
    if than.end_on is None:
        return False
    return episode.end_on is None or episode.end_on > than.end_on


def _in_care(periods: list[PeriodOfCare], day: date) -> bool:
    return any(p.start <= day and (p.end is None or day <= p.end) for p in periods)
