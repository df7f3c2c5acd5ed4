from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from iro_kit.types import UtcTimestamp
from reviews_api import examples as ex
from reviews_api.plans.history import PlanKind


class PlanDateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: PlanKind
    dated_on: date = Field(description="The day the plan was updated, reviewed or completed.")
    source: str = Field(description="`integration` (the case system) or `ssda903`.")
    recorded_by: str
    recorded_at: UtcTimestamp = Field(description="When this service learned of it.")


class PlanDatesRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "child_id": ex.CHILD_ID,
                "as_at": "2018-03-31",
                "latest": {
                    "care_plan_updated": "2018-01-15",
                    "pep_reviewed": "2017-11-02",
                    "health_assessment_completed": "2017-09-20",
                    "pathway_plan_updated": None,
                    "leaving_care_assessment_started": None,
                },
                "items": [
                    {
                        "id": "0b8a3d0e-21f4-4f0c-9d44-2f7f3c4b5a61",
                        "kind": "care_plan_updated",
                        "dated_on": "2018-01-15",
                        "source": "integration",
                        "recorded_by": "lcs",
                        "recorded_at": "2018-01-15T17:02:11Z",
                    }
                ],
            }
        }
    )
    child_id: uuid.UUID
    as_at: date
    latest: dict[PlanKind, date | None] = Field(
        description="For each kind, the latest date on or before `as_at` (null if none)."
    )
    items: list[PlanDateRead] = Field(description="The history, newest first.")


class AnnualOutcomeRead(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"example": ex.ANNUAL_OUTCOME}
    )
    year_ending: date = Field(description="31 March of the SSDA903 collection year.")
    sdq_score: int | None
    sdq_reason: str | None
    convicted: bool | None
    health_check: bool | None
    immunisations: bool | None
    teeth_check: bool | None
    health_assessment: bool | None
    substance_misuse: bool | None
    intervention_received: bool | None
    intervention_offered: bool | None
