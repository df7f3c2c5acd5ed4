from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from iro_kit.dates import BirthDate, Day
from iro_kit.schedule import Clock, ReviewSequence, ScheduleStatus
from iro_kit.text import Line, RequestModel
from iro_kit.types import UtcTimestamp
from reviews_api import examples as ex
from reviews_api.codes import LegalStatus, ReasonNewEpisode, Sex
from reviews_api.ranges import EPISODE, read_from


class ChildCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "external_id": "LCS-100234",
                "given_name": "Sam",
                "family_name": "Taylor",
                "date_of_birth": "2010-06-15",
                "sex": "female",
            }
        },
    )
    external_id: Line = Field(min_length=1, max_length=100, description="The case system's id.")
    given_name: Line = Field(min_length=1, max_length=200)
    family_name: Line = Field(min_length=1, max_length=200)
    date_of_birth: BirthDate
    sex: Sex


class ChildUpdate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"family_name": "Jones"}}
    )
    given_name: Line | None = Field(default=None, min_length=1, max_length=200)
    family_name: Line | None = Field(default=None, min_length=1, max_length=200)
    date_of_birth: BirthDate | None = None
    sex: Sex | None = None


class ChildRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": ex.CHILD})
    id: uuid.UUID
    external_id: str
    given_name: str | None = Field(description="Null when the source had none (SSDA903).")
    family_name: str | None = Field(description="Null when the source had none (SSDA903).")
    date_of_birth: date
    sex: Sex
    version: int
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class EpisodeCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "external_id": "EP-5531",
                "start_on": "2017-04-03",
                "reason_new_episode": "S",
                "legal_status": "C2",
                "placement": "U1",
            }
        },
    )
    external_id: Line | None = Field(default=None, max_length=100)
    start_on: Day = Field(description="SSDA903 DECOM.")
    end_on: Day | None = Field(default=None, description="SSDA903 DEC; null while it lasts.")
    reason_new_episode: ReasonNewEpisode = Field(description="SSDA903 RNE; S starts a new period.")
    legal_status: LegalStatus = Field(description="SSDA903 LS.")
    placement: Line | None = Field(default=None, max_length=3, description="SSDA903 PLACE.")
    reason_ended: Line | None = Field(default=None, max_length=3, description="SSDA903 REC.")


class EpisodeUpdate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"example": {"end_on": "2018-01-10", "reason_ended": "E4A"}},
    )
    start_on: Day | None = None
    end_on: Day | None = None
    reason_new_episode: ReasonNewEpisode | None = None
    legal_status: LegalStatus | None = None
    placement: Line | None = Field(default=None, max_length=3)
    reason_ended: Line | None = Field(default=None, max_length=3)


class EpisodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": ex.EPISODE})
    id: uuid.UUID
    child_id: uuid.UUID
    external_id: str | None
    start_on: date = read_from(EPISODE, "start_on")
    end_on: date | None = read_from(EPISODE, "end_on")
    reason_new_episode: str
    legal_status: str
    placement: str | None
    reason_ended: str | None
    version: int


class Deletion(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"reason": "Entered against the wrong child"}}
    )
    reason: str = Field(min_length=3, max_length=2000, description="Why the record was a mistake.")


class PeriodOfCareRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.PERIOD_OF_CARE})
    start_on: date
    end_on: date | None
    clock: Clock = Field(description="`reg_33` (looked after) or `reg_48` (short breaks).")
    legal_status: str = Field(description="Legal status of the period's latest episode.")
    episode_ids: list[uuid.UUID]


class ExplainedDateRead(BaseModel):
    date: date
    rule: str = Field(description="The rule that produced the date, e.g. `reg33_second`.")
    counted_from: date | None
    explanation: str


class AssessedReviewRead(BaseModel):
    review_id: uuid.UUID | None
    held_on: date
    sequence: ReviewSequence
    due_by: ExplainedDateRead
    in_timescale: bool
    days_late: int


class NextReviewRead(BaseModel):
    sequence: ReviewSequence
    due_by: ExplainedDateRead
    last_working_day: ExplainedDateRead
    plan_by: ExplainedDateRead
    scheduled_for: date | None
    visit_from: date = Field(description="A pre-review visit counts from this day.")
    visit_by: ExplainedDateRead
    midway_on: ExplainedDateRead | None


class ScheduleRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": ex.SCHEDULE})
    child_id: uuid.UUID
    as_at: date
    status: ScheduleStatus
    month_rule: str
    looked_after: bool
    period_of_care: PeriodOfCareRead | None
    allocation_due_by: ExplainedDateRead | None
    next_review: NextReviewRead | None
    reviews: list[AssessedReviewRead] = Field(description="Reviews held in this period, assessed.")
