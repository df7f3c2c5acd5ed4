from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, EmailStr, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from iro_kit.dates import Day
from iro_kit.text import Line, RequestModel
from iro_kit.types import UtcTimestamp
from reviews_api import examples as ex
from reviews_api.ranges import ALLOCATION, IRO, read_from


def _a_number(value: Any) -> Any:
    """A JSON number only: the column is NUMERIC(3, 2), kept exact as a Decimal in Python, but
    the API types it as a number, so `"0.8"` (a string) is refused like any other string."""
    if isinstance(value, str | bool):
        raise PydanticCustomError("float_type", "Input should be a valid number")
    return value


Fte = Annotated[
    Decimal,
    BeforeValidator(_a_number),
    Field(gt=0, le=1, max_digits=3, decimal_places=2),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1}),
]
"""Full-time equivalent: over 0, at most 1, in hundredths (0.125 is refused)."""
_FTE = "Full-time equivalent: over 0 and at most 1, at most two decimal places, e.g. 0.5, 1.0."


class IroCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "Alex Morgan",
                "email": "alex.morgan@la.example",
                "fte": 0.8,
                "start_on": "2016-09-01",
            }
        },
    )
    name: Line = Field(min_length=1, max_length=200)
    email: EmailStr
    fte: Fte = Field(description=_FTE)
    start_on: Day = Field(description="First day in post.")
    end_on: Day | None = Field(default=None, description="Last day in post.")


class IroUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"fte": 0.6}})
    name: Line | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = None
    fte: Fte | None = Field(default=None, description=_FTE)
    start_on: Day | None = Field(default=None, description="First day in post.")
    end_on: Day | None = Field(default=None, description="Last day in post.")


class IroRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": ex.IRO})
    id: uuid.UUID
    name: str
    email: str
    fte: float = Field(description=_FTE)
    start_on: date = read_from(IRO, "start_on", description="First day in post.")
    end_on: date | None = read_from(
        IRO, "end_on", description="Last day in post; null while in post."
    )
    version: int
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class AllocationCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"iro_id": ex.IRO_ID, "start_on": "2017-04-05"}},
    )
    iro_id: uuid.UUID
    start_on: Day = Field(description="First day of the allocation.")
    reason: str | None = Field(default=None, max_length=2000)


class AllocationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": ex.ALLOCATION})
    id: uuid.UUID
    child_id: uuid.UUID
    iro_id: uuid.UUID
    start_on: date = read_from(ALLOCATION, "start_on", description="First day of the allocation.")
    end_on: date | None = read_from(
        ALLOCATION, "end_on", description="Last day of the allocation; null while current."
    )
    reason: str | None
    created_by: str
    version: int
    created_at: UtcTimestamp


class Caseload(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.CASELOAD})
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
    model_config = ConfigDict(json_schema_extra={"example": ex.CASELOAD_SUMMARY})
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
                "start_on": "2017-09-01",
                "reason": "IRO leaving the service",
                "assignments": [],
            }
        },
    )
    start_on: Day = Field(description="First day with the new IRO.")
    reason: str | None = Field(default=None, max_length=2000)
    assignments: list[Reassignment] = Field(
        default_factory=list,
        description="Chosen new IROs; every other child goes to the IRO with most room.",
    )


class ReallocationLetter(BaseModel):
    """What the letter to each child needs: who their new IRO is, from when."""

    model_config = ConfigDict(json_schema_extra={"example": ex.REALLOCATION_LETTER})
    child_id: uuid.UUID
    external_id: str
    child_name: str
    new_iro_id: uuid.UUID
    new_iro_name: str
    start_on: date = Field(description="First day with the new IRO.")
