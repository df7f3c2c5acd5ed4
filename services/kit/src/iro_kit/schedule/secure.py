"""Secure accommodation reviews (Children (Secure Accommodation) Regulations 1991, reg 15).

First within 1 calendar month of the placement, then at intervals of not more than 3 calendar
months while the placement lasts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from iro_kit.schedule.model import ExplainedDate, MonthRule
from iro_kit.schedule.rules import add_months


@dataclass(frozen=True, slots=True)
class SecureAssessment:
    held_on: date
    due_by: ExplainedDate
    in_timescale: bool


def secure_due_by(started_on: date, previous_held_on: date | None) -> ExplainedDate:
    if previous_held_on is None:
        return ExplainedDate(
            add_months(started_on, 1, MonthRule.calendar), "secure_first", started_on
        )
    return ExplainedDate(
        add_months(previous_held_on, 3, MonthRule.calendar), "secure_subsequent", previous_held_on
    )


def assess_secure_reviews(started_on: date, held: Iterable[date]) -> list[SecureAssessment]:
    assessed, previous = [], None
    for held_on in sorted(held):
        due = secure_due_by(started_on, previous)
        assessed.append(SecureAssessment(held_on, due, held_on <= due.value))
        previous = held_on
    return assessed


def next_secure_review(
    started_on: date, ended_on: date | None, held: Iterable[date], as_at: date
) -> ExplainedDate | None:
    """The next review's due date, or None once the placement has ended (as known on as_at)."""
    if ended_on is not None and ended_on <= as_at:
        return None
    previous = max((h for h in held if h <= as_at), default=None)
    return secure_due_by(started_on, previous)
