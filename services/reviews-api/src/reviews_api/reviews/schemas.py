from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from iro_kit.dates import Day
from iro_kit.text import RequestModel
from iro_kit.types import UtcTimestamp
from reviews_api import examples as ex
from reviews_api.codes import LateReason, ParticipationCode, ViewsMethod, VisitKind

_REVIEW_EXAMPLE = {
    "held_on": "2017-05-02",
    "participation_code": "PN1",
    "views_method": "in_person",
    "notes": "Plan endorsed.",
}


class ReviewFields(RequestModel):
    model_config = ConfigDict(extra="forbid")
    scheduled_for: Day | None = Field(
        default=None, description="The date the review is booked for."
    )
    held_on: Day | None = Field(
        default=None, description="The date of the meeting that concluded the review."
    )
    series_started_on: Day | None = Field(
        default=None, description="First meeting, for a review held over a series of meetings."
    )
    participation_code: ParticipationCode | None = Field(
        default=None, description="SSDA903 REVIEW_CODE; PN0 only under 4 on the review date."
    )
    views_method: ViewsMethod | None = None
    late_reason: LateReason | None = Field(
        default=None,
        description="Why a review held after its due-by date was late; refused on one held in "
        "timescale. A late review without one is stored, and listed on the worklist "
        "late-reviews-without-reason until one is recorded.",
    )
    late_reason_text: str | None = Field(default=None, max_length=2000)
    notes: str | None = Field(default=None, max_length=20000)


class ReviewCreate(ReviewFields):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": _REVIEW_EXAMPLE})


class ReviewUpdate(ReviewFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"late_reason": "missing_report"}},
    )


class ReviewRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": ex.REVIEW})
    id: uuid.UUID
    child_id: uuid.UUID
    scheduled_for: date | None
    held_on: date | None
    series_started_on: date | None
    participation_code: str | None
    views_method: str | None
    late_reason: str | None
    late_reason_text: str | None
    notes: str | None
    period_started_on: date | None = Field(description="The period of care it belongs to.")
    sequence: str | None = Field(description="first, second or subsequent in the period.")
    due_by: date | None = Field(description="The due date it was held against.")
    in_timescale: bool | None
    created_by: str
    version: int
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class VisitCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"kind": "pre_review", "visited_on": "2017-04-25", "iro_id": ex.IRO_ID}
        },
    )
    kind: VisitKind = Field(description="`pre_review` visit to the child, or `midway` review.")
    visited_on: Day
    iro_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=20000)


class VisitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": ex.VISIT})
    id: uuid.UUID
    child_id: uuid.UUID
    kind: VisitKind
    visited_on: date
    iro_id: uuid.UUID | None
    notes: str | None
    created_by: str
    version: int
    created_at: UtcTimestamp
