"""Statistics of disputes over a period, as the annual report's Table 4 needs them."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from drp_api.deps import (
    Reader,
    RulesDep,
    SettingsDep,
)
from drp_api.disputes.lifecycle import Category
from drp_api.disputes.snapshots import disputes_on
from drp_api.stats.figures import dispute_stats
from drp_api.stats.schemas import DisputeStats
from iro_kit.dates import Day, today
from iro_kit.db import SessionDep
from iro_kit.errors import FieldProblem, Unprocessable, problem_responses

router = APIRouter(prefix="/drp/v1", tags=["statistics"])


def _year_before(day: date) -> date:
    """The first day of the 12 months ending on `day` (KPIS.md's default window)."""
    try:
        start = day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        start = day.replace(year=day.year - 1, day=28)
    return date.fromordinal(start.toordinal() + 1)


@router.get(
    "/stats",
    summary="Dispute statistics",
    description="Disputes raised in [`from`, `to`] (both inclusive; default the 12 months "
    "ending today): by category, theme (a dispute counts once per theme), highest stage "
    "reached by `to`, status and outcome at the end of `to`; the % resolved within the overall "
    "timescale (20 working days of being raised) of those resolved by `to`, and the median "
    "working days to resolution. Also every dispute open, and overdue, at the end of `to`. "
    "`category=lac` gives the annual report's Table 4 (case escalations).",
    responses=problem_responses(401, 403, 422),
)
async def dispute_statistics(
    session: SessionDep,
    _: Reader,
    rules: RulesDep,
    settings: SettingsDep,
    period_from: Annotated[Day | None, Query(alias="from")] = None,
    period_to: Annotated[Day | None, Query(alias="to")] = None,
    category: Category | None = None,
) -> DisputeStats:
    period_to = period_to or today()
    period_from = period_from or _year_before(period_to)
    if period_from > period_to:
        raise Unprocessable(
            "from is after to.",
            errors=[FieldProblem(pointer="/from", location="query", message="is after to")],
        )
    on_to = await disputes_on(session, period_to, category=category)
    return dispute_stats(on_to, period_from, period_to, rules, settings.themes, category)
