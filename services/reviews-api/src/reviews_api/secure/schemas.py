from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from iro_kit.dates import Day
from iro_kit.text import Line, RequestModel
from iro_kit.types import UtcTimestamp
from reviews_api import examples as ex
from reviews_api.children.schemas import ExplainedDateRead


class SecurePlacementCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"start_on": "2017-06-01"}}
    )
    start_on: Day
    end_on: Day | None = None


class SecurePlacementUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"end_on": "2017-10-20"}}
    )
    start_on: Day | None = None
    end_on: Day | None = None


class SecurePlacementRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.SECURE_PLACEMENT})
    id: uuid.UUID
    child_id: uuid.UUID
    start_on: date
    end_on: date | None
    version: int
    next_review_due_by: ExplainedDateRead | None = Field(
        description="As at `as_at`; null once the placement has ended."
    )


class PanelMember(RequestModel):
    model_config = ConfigDict(extra="forbid")
    name: Line = Field(min_length=1, max_length=200)
    independent: bool = Field(description="Neither a member nor an officer of the local authority.")
    role: Line | None = Field(default=None, max_length=200)


class SecureReviewCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "held_on": "2017-06-28",
                "panel": ex.SECURE_REVIEW["panel"],
            }
        },
    )
    held_on: Day
    panel: list[PanelMember] = Field(
        description="At least three people, at least one of them independent of the authority."
    )
    notes: str | None = Field(default=None, max_length=20000)


class SecureReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": ex.SECURE_REVIEW})
    id: uuid.UUID
    placement_id: uuid.UUID
    held_on: date
    panel: list[PanelMember]
    notes: str | None
    due_by: date
    in_timescale: bool
    created_by: str
    version: int
    created_at: UtcTimestamp
