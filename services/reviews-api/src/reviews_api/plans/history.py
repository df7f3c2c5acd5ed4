"""Plan dates as plain values: the kinds, and the latest of a kind on or before a day.

Pure, for the scorecard's as-at questions: a result for a past day counts only what was dated
on or before it (KPIS.md), whatever was recorded later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class PlanKind(StrEnum):
    care_plan_updated = "care_plan_updated"
    pep_reviewed = "pep_reviewed"  # Personal Education Plan
    health_assessment_completed = "health_assessment_completed"
    pathway_plan_updated = "pathway_plan_updated"  # leaving care, from 16 years 3 months
    leaving_care_assessment_started = "leaving_care_assessment_started"  # from 15 1/2


@dataclass(frozen=True, slots=True)
class PlanDateFacts:
    kind: PlanKind
    dated_on: date


def latest_on_or_before(history: Iterable[PlanDateFacts], kind: PlanKind, day: date) -> date | None:
    """The latest date of `kind` on or before `day`, or None if there is none."""
    dates = [f.dated_on for f in history if f.kind == kind and f.dated_on <= day]
    return max(dates) if dates else None


def latest_of_each(history: Iterable[PlanDateFacts], day: date) -> dict[PlanKind, date | None]:
    facts = list(history)
    return {kind: latest_on_or_before(facts, kind, day) for kind in PlanKind}
