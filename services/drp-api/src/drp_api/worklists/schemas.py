from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from drp_api.disputes import examples
from drp_api.disputes.lifecycle import Category
from drp_api.people import ChildRef, IroRef


class StageDue(BaseModel):
    """An open dispute whose stage is due soon or overdue."""

    model_config = ConfigDict(json_schema_extra={"example": examples.STAGE_DUE})

    dispute_id: uuid.UUID
    reference: str
    child: ChildRef
    iro: IroRef = Field(description="The IRO who raised the dispute.")
    category: Category
    stage: int
    stage_name: str
    stage_due_by: date
    working_days_left: int = Field(
        description="Working days from as_at to stage_due_by; negative when overdue."
    )
    overdue: bool = Field(description="as_at is after stage_due_by.")
    overall_due_by: date
