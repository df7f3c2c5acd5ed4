"""The statistics as pure functions over disputes as they stood on a day (KPIS.md, Table 4)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from statistics import median

from drp_api.disputes.lifecycle import (
    Category,
    Outcome,
    ProcessRules,
    Status,
    stage_overdue,
)
from drp_api.disputes.snapshots import DisputeOnDay
from drp_api.stats.schemas import DisputeStats, Ratio, StageCount


def ratio(numerator: int, denominator: int) -> Ratio:
    value = numerator / denominator * 100 if denominator else None
    return Ratio(numerator=numerator, denominator=denominator, value=value)


def _counts(keys: Iterable[str], values: Iterable[str]) -> dict[str, int]:
    """Every key (zero when none), then any other value seen."""
    counted = Counter(values)
    return {key: counted.pop(key, 0) for key in keys} | dict(counted)


def working_days_to_resolution(found: DisputeOnDay, rules: ProcessRules) -> int:
    # A resolved dispute's last action is its resolution.
    return rules.calendar.working_days_between(found.raised_on, found.last_action_on)


def dispute_stats(
    on_to: Sequence[DisputeOnDay],
    period_from: date,
    period_to: date,
    rules: ProcessRules,
    themes: Iterable[str],
    category: Category | None = None,
) -> DisputeStats:
    """`on_to`: every dispute raised by `period_to`, as it stood at the end of that day."""
    raised = [d for d in on_to if period_from <= d.raised_on <= period_to]
    open_on_to = [d for d in on_to if d.status is Status.open]
    resolved = [d for d in raised if d.status is Status.resolved]
    days = [working_days_to_resolution(d, rules) for d in resolved]
    stages = Counter(d.highest_stage for d in raised)
    return DisputeStats(
        period_from=period_from,
        period_to=period_to,
        category=category,
        raised=len(raised),
        by_category=_counts([c.value for c in Category], (d.category.value for d in raised)),
        by_theme=_counts(themes, (theme for d in raised for theme in d.themes)),
        by_highest_stage=[
            StageCount(stage=s.number, name=s.name, count=stages.get(s.number, 0))
            for s in rules.stages
        ],
        by_status=_counts([s.value for s in Status], (d.status.value for d in raised)),
        by_outcome=_counts(
            [o.value for o in Outcome], (o.value for d in resolved for o in d.outcomes)
        ),
        open_on_to=len(open_on_to),
        overdue_on_to=sum(
            1
            for d in open_on_to
            if d.stage < rules.cafcass_stage and stage_overdue(d.stage_due_by, period_to)
        ),
        resolved_in_timescale=ratio(
            sum(1 for n in days if n <= rules.overall_working_days), len(days)
        ),
        median_working_days_to_resolution=float(median(days)) if days else None,
    )
