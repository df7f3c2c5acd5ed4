from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from drp_api.disputes.lifecycle import Category, Outcome
from drp_api.settings import DEFAULT_STAGES, DEFAULT_THEMES

# As drp-api counts: every stage, theme and outcome, zero when none (drp_api.stats.figures).
_HIGHEST = {1: 2, 2: 1}
_THEMES = {"care_planning": 2, "drift_and_delay": 1}


class StageCount(BaseModel):
    stage: int
    name: str
    count: int


class Ratio(BaseModel):
    numerator: int
    denominator: int
    value: float | None = Field(
        description="numerator / denominator x 100, unrounded; null when the denominator is 0."
    )


class DisputeStats(BaseModel):
    """Disputes raised in [from, to], each as it stood at the end of `to` (KPIS.md, Table 4)."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "example": {
                "from": "2016-04-01",
                "to": "2017-03-31",
                "category": "lac",
                "raised": 3,
                "by_category": {"lac": 3, "cp": 0},
                "by_theme": {code: _THEMES.get(code, 0) for code in DEFAULT_THEMES},
                "by_highest_stage": [
                    {"stage": number, "name": stage.name, "count": _HIGHEST.get(number, 0)}
                    for number, stage in enumerate(DEFAULT_STAGES, start=1)
                ],
                "by_status": {"open": 1, "resolved": 2, "withdrawn": 0, "referred_to_cafcass": 0},
                "by_outcome": {
                    o.value: 2 if o is Outcome.care_plan_improved else 0 for o in Outcome
                },
                "open_on_to": 1,
                "overdue_on_to": 0,
                "resolved_in_timescale": {"numerator": 1, "denominator": 2, "value": 50.0},
                "median_working_days_to_resolution": 17.5,
            }
        },
    )
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")
    category: Category | None = Field(description="The category asked for; null for both.")
    raised: int = Field(description="Disputes raised in [from, to].")
    by_category: dict[str, int]
    by_theme: dict[str, int] = Field(description="A dispute with two themes counts in each.")
    by_highest_stage: list[StageCount] = Field(description="The highest stage reached by `to`.")
    by_status: dict[str, int] = Field(description="Status at the end of `to`.")
    by_outcome: dict[str, int] = Field(
        description="Outcomes of those resolved by `to`; a dispute counts once per outcome."
    )
    open_on_to: int = Field(
        description="Every dispute open at the end of `to`, whenever it was raised."
    )
    overdue_on_to: int = Field(
        description="Of those open on `to`: below the Cafcass stage and past the stage's due date."
    )
    resolved_in_timescale: Ratio = Field(
        description="Of those raised in [from, to] and resolved by `to`: resolved within the "
        "overall timescale (20 working days of being raised)."
    )
    median_working_days_to_resolution: float | None = Field(
        description="Of the same disputes: working days from raised to resolved."
    )
