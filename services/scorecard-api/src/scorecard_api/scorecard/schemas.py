"""Response and request bodies of the scorecard, drill-down and targets."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from iro_kit.types import UtcTimestamp
from scorecard_api.kpis.definitions import BY_CODE, Direction, Rag


class KpiFigure(BaseModel):
    code: str
    title: str
    numerator: int
    denominator: int | None = Field(description="Null for a count (`pre_review_visits`).")
    value: float | None = Field(
        description="Numerator / denominator x 100, unrounded; null when the denominator is 0. "
        "The count itself for a count."
    )
    target: float | None
    direction: Direction
    rag: Rag | None = Field(description="Null when no target is set or there is no value.")
    change: float | None = Field(
        description="This value minus the previous column's (percentage points); null in the "
        "first column or where either is null."
    )


class ScorecardColumn(BaseModel):
    as_at: date
    from_: date = Field(alias="from", serialization_alias="from")
    kpis: list[KpiFigure]

    model_config = ConfigDict(populate_by_name=True)


_REVIEWS_IN_TIMESCALE = BY_CODE["reviews_in_timescale"].title
_SECTION_20 = BY_CODE["section_20"].title
# The 2015/16 and 2016/17 outturns side by side, as the annual report shows them.
SCORECARD_EXAMPLE = {
    "columns": [
        {
            "as_at": "2016-03-31",
            "from": "2015-04-01",
            "kpis": [
                {
                    "code": "reviews_in_timescale",
                    "title": _REVIEWS_IN_TIMESCALE,
                    "numerator": 497,
                    "denominator": 521,
                    "value": 497 / 521 * 100,
                    "target": 95.0,
                    "direction": "higher",
                    "rag": "green",
                    "change": None,
                },
                {
                    "code": "section_20",
                    "title": _SECTION_20,
                    "numerator": 131,
                    "denominator": 546,
                    "value": 131 / 546 * 100,
                    "target": 20.0,
                    "direction": "lower",
                    "rag": "amber",
                    "change": None,
                },
            ],
        },
        {
            "as_at": "2017-03-31",
            "from": "2016-04-01",
            "kpis": [
                {
                    "code": "reviews_in_timescale",
                    "title": _REVIEWS_IN_TIMESCALE,
                    "numerator": 498,
                    "denominator": 512,
                    "value": 498 / 512 * 100,
                    "target": 95.0,
                    "direction": "higher",
                    "rag": "green",
                    "change": 498 / 512 * 100 - 497 / 521 * 100,
                },
                {
                    "code": "section_20",
                    "title": _SECTION_20,
                    "numerator": 102,
                    "denominator": 534,
                    "value": 102 / 534 * 100,
                    "target": 20.0,
                    "direction": "lower",
                    "rag": "green",
                    "change": 102 / 534 * 100 - 131 / 546 * 100,
                },
            ],
        },
    ]
}


class Scorecard(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": SCORECARD_EXAMPLE})
    columns: list[ScorecardColumn]


class AllocatedIro(BaseModel):
    """The IRO a drill-down row's child was allocated to on the day."""

    id: uuid.UUID
    name: str


class DrillDownRow(BaseModel):
    child_id: uuid.UUID
    external_id: str | None
    name: str | None
    met: bool
    reason: str = Field(description="Why, in words, with the dates that decided it.")
    dates: dict[str, date | None]
    review_id: uuid.UUID | None
    iro: AllocatedIro | None = Field(description="The IRO allocated on the as-at day.")


class DrillDown(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "code": "reviews_in_timescale",
                "title": _REVIEWS_IN_TIMESCALE,
                "as_at": "2017-03-31",
                "from": "2016-04-01",
                "numerator": 1,
                "denominator": 2,
                "value": 50.0,
                "items": [
                    {
                        "child_id": "0b5c1a3e-8a52-4c8e-9d0a-6f1f7e0b2a11",
                        "external_id": "LCS-100234",
                        "name": "Sam Taylor",
                        "met": False,
                        "reason": "review due 2017-02-10, held 2017-02-14, 2 working days late",
                        "dates": {"due_by": "2017-02-10", "held_on": "2017-02-14"},
                        "review_id": "e2c4a6b8-0d1f-4a3c-8e5b-7d9f1a3c5e70",
                        "iro": {
                            "id": "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b",
                            "name": "Alex Morgan",
                        },
                    }
                ],
                "next_cursor": None,
                "total": None,
            }
        },
        populate_by_name=True,
    )
    code: str
    title: str
    as_at: date
    from_: date = Field(alias="from", serialization_alias="from")
    numerator: int
    denominator: int | None
    value: float | None
    items: list[DrillDownRow]
    next_cursor: str | None
    total: int | None = None


# A manager's token subject (iro_kit.auth.Principal.subject): who changed a target.
_MANAGER = "8e1d4c7a-2b5f-4a9e-b3c6-d0f1e2a3b4c5"


class Target(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "code": "reviews_in_timescale",
                "title": _REVIEWS_IN_TIMESCALE,
                "target": 95.0,
                "direction": "higher",
                "amber_tolerance": 5.0,
                "updated_by": _MANAGER,
                "updated_at": "2026-11-30T09:12:44.051318Z",
            }
        }
    )
    code: str
    title: str
    target: float | None = Field(description="Null: no target, so no RAG rating.")
    direction: Direction
    amber_tolerance: float = Field(
        description="How far short of the target (in the value's units) is still amber."
    )
    updated_by: str | None
    updated_at: UtcTimestamp | None


class TargetChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"target": 95, "direction": "higher", "amber_tolerance": 5}},
    )
    # Strict: a number or null, never a boolean (`false` is not 0).
    target: float | None = Field(
        strict=True, ge=0, le=100000, description="Null removes the target."
    )
    direction: Direction | None = Field(default=None, description="Default: the KPI's own.")
    amber_tolerance: float = Field(default=5.0, strict=True, ge=0, le=100000)


class TargetHistoryRow(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "changed_by": _MANAGER,
                "changed_at": "2026-11-30T09:12:44.051318Z",
                "old": {"target": 90.0, "direction": "higher", "amber_tolerance": 5.0},
                "new": {"target": 95.0, "direction": "higher", "amber_tolerance": 5.0},
            }
        }
    )
    changed_by: str
    changed_at: UtcTimestamp
    old: dict[str, object] | None
    new: dict[str, object]
