"""What reading a return produces: per-child load plans, problems, and a report of every file.

Plain values, no database: the loader applies a `ChildPlan`; the job stores `ImportIssue`s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from reviews_api.imports.files import FileKind


@dataclass(frozen=True, slots=True)
class ImportIssue:
    """One problem: `{file, line, child, field, code, dfe_rule, message}`. `line` is the line
    number in the file as a text editor shows it (the column names are line 1). `dfe_rule` is
    the DfE validation rule the problem breaks (None for this service's own checks). An error
    holds its child back; a warning (a rule on data this service does not use) is reported and
    the child loads."""

    file: str | None
    line: int | None
    child: str | None
    field: str | None
    code: str
    message: str
    dfe_rule: str | None = None
    warning: bool = False

    @property
    def severity(self) -> str:
        return "warning" if self.warning else "error"


@dataclass(frozen=True, slots=True)
class EpisodePlan:
    start_on: date
    end_on: date | None
    reason_new_episode: str
    legal_status: str
    placement: str | None
    reason_ended: str | None
    file: str
    line: int

    def external_id(self, child: str) -> str:
        """Deterministic, so importing the same return again finds the same episode."""
        return f"903:{child}:{self.start_on.isoformat()}"


@dataclass(frozen=True, slots=True)
class ReviewPlan:
    held_on: date
    participation_code: str
    file: str
    line: int


OUTCOME_FLAGS = (
    "convicted",
    "health_check",
    "immunisations",
    "teeth_check",
    "health_assessment",
    "substance_misuse",
    "intervention_received",
    "intervention_offered",
)


@dataclass(frozen=True, slots=True)
class OutcomePlan:
    """An OC2 row: the SDQ and the yes/no outcomes of the collection year."""

    sdq_score: int | None
    sdq_reason: str | None
    flags: dict[str, bool | None]
    file: str
    line: int


@dataclass(slots=True)
class ChildPlan:
    external_id: str
    date_of_birth: date
    sex: str  # male | female | unknown
    file: str
    line: int
    episodes: list[EpisodePlan] = field(default_factory=list)
    reviews: list[ReviewPlan] = field(default_factory=list)
    outcome: OutcomePlan | None = None


@dataclass(slots=True)
class FileReport:
    """How one uploaded file was read. After loading, every row of a loaded kind of file is
    exactly one of `loaded`, `rejected` (a problem of its own) or `held_back` (its child was not
    loaded because of a problem in another row); rows of other files are `ignored`."""

    name: str
    kind: FileKind
    rows: int
    blank_lines: int
    unknown_columns: list[str]
    note: str | None = None
    used: bool = False  # one of the files loaded, read row by row
    rows_by_child: Counter[str] = field(default_factory=Counter)
    problem_lines: set[int] = field(default_factory=set)

    def counts(self, loaded_children: set[str]) -> dict[str, int]:
        loaded = sum(n for child, n in self.rows_by_child.items() if child in loaded_children)
        return self.counts_loaded(loaded)

    def counts_loaded(self, loaded: int) -> dict[str, int]:
        """The counts, `loaded` being the rows of the children loaded (`rows_by_child`)."""
        if not self.used:
            return {"loaded": 0, "rejected": 0, "held_back": 0, "ignored": self.rows}
        rejected = len(self.problem_lines)
        return {
            "loaded": loaded,
            "rejected": rejected,
            "held_back": self.rows - loaded - rejected,
            "ignored": 0,
        }


@dataclass(slots=True)
class ReadReturn:
    """A return read and checked: the children ready to load and everything found wrong."""

    files: list[FileReport]
    children: Sequence[ChildPlan]  # a list, or for a large return ssda903.PartedChildren
    issues: list[ImportIssue]
    rejected_children: set[str]
    year_ending: date
    year_inferred: bool = False  # no collection year was named: it was read from the dates

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)
