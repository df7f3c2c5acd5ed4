from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from iro_kit.schedule import ReviewSequence, ScheduleStatus


class ChildSummary(BaseModel):
    id: uuid.UUID
    external_id: str
    name: str


class IroSummary(BaseModel):
    id: uuid.UUID
    name: str


class ReviewDue(BaseModel):
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
    child: ChildSummary
    looked_after_since: date
    allocation_due_by: date = Field(description="5 working days after becoming looked after.")
    working_days_left: int
    overdue: bool


class VisitDue(BaseModel):
    child: ChildSummary
    iro: IroSummary | None
    review_due_by: date
    scheduled_for: date | None
    visit_from: date
    visit_by: date
    working_days_left: int


class MidwayDue(BaseModel):
    child: ChildSummary
    iro: IroSummary | None
    previous_review_on: date
    midway_on: date
    review_due_by: date
