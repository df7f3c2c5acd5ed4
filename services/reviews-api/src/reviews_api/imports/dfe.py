"""The DfE's validation rules that look at a whole child: its Header row, episodes and reviews.

A rule is a pure function of one child's readable rows and the collection year; it yields a
`Finding` for each row that breaks it, named by the DfE's own rule number. Rules on single
values (a date, a code) are applied as the rows are read (`rows.py`, `ssda903.py`); the rules
here are those that need the child's other rows. An error holds the child back, as every
problem in its rows does; a warning is for a rule on data this service does not use, and the
child loads.

The rules are registered in `RULES` (episodes: `dfe_episodes`; reviews and the Header:
`dfe_reviews`), and compared with the DfE's own validator by the peer check
(`tests/test_903_peer.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from reviews_api.imports.collection import CollectionYear
from reviews_api.imports.files import FileKind
from reviews_api.imports.plan import EpisodePlan, ReviewPlan


@dataclass(frozen=True, slots=True)
class ChildRows:
    """One child's rows as read: each readable episode (sorted by DECOM) and review row.

    `date_of_birth` and `sex` are from the Header (None when the Header row is missing or
    unreadable); `header_line` is the Header row's line.
    """

    child: str
    date_of_birth: date | None
    sex: str | None  # male | female | unknown
    header_line: int | None
    episodes: list[EpisodePlan] = field(default_factory=list)
    reviews: list[ReviewPlan] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Finding:
    """A row that breaks a DfE rule. `kind` is the file the row is in."""

    kind: FileKind
    line: int
    field: str
    code: str  # this service's stable code, e.g. `x1_without_continuation`
    rule: str | None  # the DfE rule number, e.g. `388`; None for this service's own check
    message: str
    warning: bool = False


Rule = Callable[[ChildRows, CollectionYear], Iterable[Finding]]


def rules() -> tuple[Rule, ...]:
    """Every whole-child rule, episodes first."""
    from reviews_api.imports import dfe_episodes, dfe_reviews, dfe_warnings

    return (*dfe_episodes.RULES, *dfe_reviews.RULES, *dfe_warnings.RULES)
