from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from iro_kit.schedule import ReviewSequence, ScheduleStatus
from reviews_api import examples as ex


class ChildSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.CHILD_SUMMARY})
    id: uuid.UUID
    external_id: str
    name: str


class IroSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.IRO_SUMMARY})
    id: uuid.UUID
    name: str


class ReviewDue(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.REVIEW_DUE})
    child: ChildSummary
    iro: IroSummary | None
    sequence: ReviewSequence
    due_by: date
    last_working_day: date
    plan_by: date
    scheduled_for: date | None
    status: ScheduleStatus
    working_days_left: int = Field(
        description="Working days from as_at to due_by; negative when late."
    )


class UnallocatedChild(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.UNALLOCATED_CHILD})
    child: ChildSummary
    looked_after_since: date
    allocation_due_by: date = Field(description="5 working days after becoming looked after.")
    working_days_left: int
    overdue: bool


class VisitDue(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.VISIT_DUE})
    child: ChildSummary
    iro: IroSummary | None
    review_due_by: date
    scheduled_for: date | None
    visit_from: date
    visit_by: date
    working_days_left: int


class MidwayDue(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.MIDWAY_DUE})
    child: ChildSummary
    iro: IroSummary | None
    previous_review_on: date
    midway_on: date
    review_due_by: date


class LateReviewWithoutReason(BaseModel):
    """A held review that was late and has no recorded late reason (data quality)."""

    model_config = ConfigDict(json_schema_extra={"example": ex.LATE_REVIEW_WITHOUT_REASON})
    review_id: uuid.UUID
    version: int = Field(description="The review's version: its ETag, for If-Match on PATCH.")
    child: ChildSummary
    iro: IroSummary | None = Field(
        description="The IRO allocated to the child on the day the review was held."
    )
    sequence: ReviewSequence
    held_on: date
    due_by: date
    days_late: int = Field(description="Calendar days from due_by to held_on.")
