from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from iro_kit.dates import Day
from iro_kit.text import Line, RequestModel
from iro_kit.types import UtcTimestamp


class IroCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "Alex Morgan",
                "email": "alex.morgan@la.example",
                "fte": 0.8,
                "in_post_from": "2016-09-01",
            }
        },
    )
    name: Line = Field(min_length=1, max_length=200)
    email: EmailStr
    fte: Decimal = Field(gt=0, le=1, max_digits=3, decimal_places=2, description="e.g. 0.5, 1.0")
    in_post_from: Day
    in_post_to: Day | None = Field(default=None, description="Last day in post.")


class IroUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"fte": 0.6}})
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    fte: Decimal | None = Field(default=None, gt=0, le=1, max_digits=3, decimal_places=2)
    in_post_from: Day | None = None
    in_post_to: Day | None = None


class IroRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    email: str
    fte: float
    in_post_from: date
    in_post_to: date | None
    version: int
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class AllocationCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"iro_id": "0b5c1a3e-8a52-4c8e-9d0a-6f1f7e0b2a11", "from_on": "2017-04-05"}
        },
    )
    iro_id: uuid.UUID
    from_on: Day = Field(description="First day of the allocation.")
    reason: str | None = Field(default=None, max_length=2000)


class AllocationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    child_id: uuid.UUID
    iro_id: uuid.UUID
    from_on: date
    to_on: date | None = Field(description="Last day of the allocation; null while current.")
    reason: str | None
    created_by: str
    created_at: UtcTimestamp


class Caseload(BaseModel):
    iro_id: uuid.UUID
    name: str
    fte: float
    children: int = Field(
        description="Looked after children (not short breaks) allocated on the day."
    )
    short_break_children: int
    caseload_per_fte: float | None = Field(description="children / FTE, unrounded.")
    within_handbook_range: bool | None = Field(description="50-70 per full-time IRO.")
    room: float = Field(description="70 x FTE - children: places before the handbook maximum.")


class CaseloadSummary(BaseModel):
    as_at: date
    looked_after_children: int = Field(description="Children looked after (not V3/V4) on the day.")
    unallocated_children: int
    total_fte: float
    average_caseload: float | None = Field(description="Looked after children / total FTE.")
    iros: list[Caseload]


class Reassignment(RequestModel):
    child_id: uuid.UUID
    iro_id: uuid.UUID


class Reallocation(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "from_on": "2017-09-01",
                "reason": "IRO leaving the service",
                "assignments": [],
            }
        },
    )
    from_on: Day = Field(description="First day with the new IRO.")
    reason: str | None = Field(default=None, max_length=2000)
    assignments: list[Reassignment] = Field(
        default_factory=list,
        description="Chosen new IROs; every other child goes to the IRO with most room.",
    )


class ReallocationLetter(BaseModel):
    """What the letter to each child needs: who their new IRO is, from when."""

    child_id: uuid.UUID
    external_id: str
    child_name: str
    new_iro_id: uuid.UUID
    new_iro_name: str
    from_on: date
