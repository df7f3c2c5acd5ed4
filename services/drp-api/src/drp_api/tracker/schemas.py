from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from drp_api.disputes.lifecycle import Category, Transition
from drp_api.people import ChildRef, IroRef


class TrackerRow(BaseModel):
    """One dispute open on the tracker's day, as it stood at the end of that day."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "dispute_id": "0b7e9a52-2f3c-4d8e-9c1a-5e6f7a8b9c0d",
                "reference": "DRP-2017-0042",
                "child": {
                    "id": "3f1c2a5e-8d4b-4c1e-9a7f-2b6d0e9c4a11",
                    "external_id": "LCS-100234",
                    "name": "Sam Taylor",
                },
                "iro": {"id": "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b", "name": "Alex Morgan"},
                "category": "lac",
                "themes": ["drift_and_delay"],
                "stage": 2,
                "stage_name": "Service manager",
                "raised_on": "2017-04-13",
                "days_open": 14,
                "working_days_open": 7,
                "stage_due_by": "2017-05-02",
                "overall_due_by": "2017-05-16",
                "stage_overdue": False,
                "overall_overdue": False,
                "last_action": "escalate",
                "last_action_on": "2017-04-24",
            }
        }
    )
    dispute_id: uuid.UUID
    reference: str
    child: ChildRef
    iro: IroRef = Field(description="The IRO who raised the dispute.")
    category: Category
    themes: list[str]
    stage: int
    stage_name: str
    raised_on: date
    days_open: int = Field(description="Calendar days from raised_on to as_at.")
    working_days_open: int = Field(description="Working days after raised_on up to as_at.")
    stage_due_by: date | None
    overall_due_by: date
    stage_overdue: bool = Field(description="as_at is after the stage's due date.")
    overall_overdue: bool = Field(description="as_at is after the overall due date.")
    last_action: Transition
    last_action_on: date
