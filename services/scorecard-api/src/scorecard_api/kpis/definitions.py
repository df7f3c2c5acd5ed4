"""The KPIs of KPIS.md: code, title as the service reports it, direction, and what they count."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    higher = "higher"  # higher is better
    lower = "lower"  # lower is better (section 20)


class Rag(StrEnum):
    green = "green"
    amber = "amber"
    red = "red"


@dataclass(frozen=True)
class Kpi:
    code: str
    title: str
    direction: Direction
    counts: str  # what a drill-down row is: a child, a review or a visit
    percentage: bool = True


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "reviews_in_timescale",
        "% of CLA at end of period where reviews were held in timescales",
        Direction.higher,
        "child",
    ),
    Kpi(
        "reviews_in_timescale_by_review",
        "% of reviews due in the window held in timescale",
        Direction.higher,
        "review",
    ),
    Kpi(
        "participation",
        "% of CLA at end of period where young people participated in their most recent review",
        Direction.higher,
        "child",
    ),
    Kpi(
        "care_plan_up_to_date",
        "% CLA at end of period with an up to date Care Plan",
        Direction.higher,
        "child",
    ),
    Kpi(
        "pep_up_to_date", "% CLA at end of period with an up to date PEP", Direction.higher, "child"
    ),
    Kpi(
        "section_20",
        "% of CLA at end of period accommodated under section 20",
        Direction.lower,
        "child",
    ),
    Kpi(
        "pre_review_visits",
        "No of pre IRO visits completed",
        Direction.higher,
        "visit",
        percentage=False,
    ),
    Kpi(
        "pre_review_visit_in_time",
        "% of reviews preceded by an IRO visit at least 5 working days before",
        Direction.higher,
        "review",
    ),
    Kpi(
        "midway_reviews",
        "% CLA with a midway review since their last review",
        Direction.higher,
        "child",
    ),
    Kpi(
        "health_assessment_up_to_date",
        "% CLA with an up to date health assessment",
        Direction.higher,
        "child",
    ),
    Kpi(
        "pathway_plan_up_to_date",
        "% CLA at end of period with an up to date Pathway Plan (within 6 months)",
        Direction.higher,
        "child",
    ),
)

BY_CODE = {kpi.code: kpi for kpi in KPIS}


def rag(
    value: float | None, target: float | None, direction: Direction, tolerance: float
) -> Rag | None:
    """Green at or better than target, amber within `tolerance` of it, red beyond; no rating
    without a target or a value."""
    if value is None or target is None:
        return None
    shortfall = target - value if direction is Direction.higher else value - target
    if shortfall <= 0:
        return Rag.green
    return Rag.amber if shortfall <= tolerance else Rag.red
