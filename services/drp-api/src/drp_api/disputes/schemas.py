"""Request and response bodies of the dispute routes: one request schema per transition."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from drp_api.disputes import examples
from drp_api.disputes.lifecycle import Category, Outcome, Status, Transition
from drp_api.people import ChildRef, IroRef
from iro_kit.dates import Day
from iro_kit.text import Line, RequestModel
from iro_kit.types import UtcTimestamp

_TEXT = 20000


class Contact(RequestModel):
    """A person asked at a stage, or who responded."""

    model_config = ConfigDict(extra="forbid")
    name: Line = Field(min_length=1, max_length=200)
    role: Line | None = Field(default=None, max_length=200, description="e.g. Service manager.")


class TransitionRequest(RequestModel):
    """What every transition's body shares: the date it happened (the field named by
    `date_field`; default today, never in the future, never before the previous action)."""

    model_config = ConfigDict(extra="forbid")
    date_field: ClassVar[str]

    def happened_on(self) -> date | None:
        return getattr(self, self.date_field)

    def details(self) -> dict[str, Any]:
        """What the request said, for the dispute's history."""
        return self.model_dump(mode="json", exclude={self.date_field}, exclude_none=True)


class DisputeRaise(TransitionRequest):
    """A new dispute. The child and the IRO are named by id only: their case id and names come
    from drp-api's copy of reviews-api's records, so a field naming them is refused (422)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "child_id": ChildRef.model_config["json_schema_extra"]["example"]["id"],  # type: ignore[index]
                "iro_id": IroRef.model_config["json_schema_extra"]["example"]["id"],  # type: ignore[index]
                "category": "lac",
                "raised_on": "2017-04-13",
                "themes": ["drift_and_delay", "permanency"],
                "issue": "No permanence plan was agreed at the second review.",
                "outcome_sought": "A permanence planning meeting held by 28 April 2017.",
                "asked": {"name": "Jo Bloggs", "role": "Team manager"},
            }
        },
    )
    date_field: ClassVar[str] = "raised_on"
    child_id: uuid.UUID = Field(
        description="The child's id in reviews-api; the case id and name come from drp-api's "
        "copy (404 for a child it has never heard of)."
    )
    iro_id: uuid.UUID = Field(
        description="The IRO raising the dispute: their id in reviews-api; the name comes from "
        "drp-api's copy (404 for an IRO it has never heard of)."
    )
    category: Category = Field(description="`lac` (looked after child) or `cp` (child protection).")
    raised_on: Day | None = Field(default=None, description="Default today; not in the future.")
    stage: int = Field(
        default=1,
        strict=True,  # a number: `true` is not stage 1
        ge=1,
        le=50,
        description="Stage 1, or a higher stage inside the authority when the IRO bypasses.",
    )
    themes: list[str] = Field(
        min_length=1, max_length=20, description="One or more theme codes (GET /drp/v1/process)."
    )
    issue: str = Field(min_length=1, max_length=_TEXT, description="What the IRO challenges.")
    outcome_sought: str = Field(
        min_length=1, max_length=_TEXT, description="The IRO's SMART recommendation."
    )
    asked: Contact | None = Field(default=None, description="Who was asked at the first stage.")
    reason: str | None = Field(
        default=None, max_length=_TEXT, description="Why, when raised above stage 1."
    )


class ResponseRecord(TransitionRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "responded_on": "2017-04-19",
                "responder": {"name": "Jo Bloggs", "role": "Team manager"},
                "response": "The permanence meeting is booked for 3 May.",
            }
        },
    )
    date_field: ClassVar[str] = "responded_on"
    responded_on: Day | None = Field(default=None, description="Default today.")
    responder: Contact = Field(description="Who responded (recorded on their behalf).")
    response: str = Field(min_length=1, max_length=_TEXT)


class Escalation(TransitionRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "escalated_on": "2017-04-21",
                "to_stage": 2,
                "asked": {"name": "Pat Singh", "role": "Service manager"},
                "reason": "The team manager's date is after the child's review.",
            }
        },
    )
    date_field: ClassVar[str] = "escalated_on"
    escalated_on: Day | None = Field(default=None, description="Default today.")
    to_stage: int | None = Field(
        default=None,
        strict=True,  # a number: `true` is not stage 1
        ge=1,
        le=50,
        description="Default the next stage; a higher one bypasses.",
    )
    asked: Contact | None = Field(default=None, description="Who is asked at the new stage.")
    reason: str | None = Field(default=None, max_length=_TEXT)


class CafcassReferral(TransitionRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "referred_on": "2017-05-10",
                "reason": "The director did not agree the placement the plan needs.",
                "asked": {"name": "Cafcass duty officer"},
            }
        },
    )
    date_field: ClassVar[str] = "referred_on"
    referred_on: Day | None = Field(default=None, description="Default today.")
    reason: str = Field(min_length=1, max_length=_TEXT)
    asked: Contact | None = Field(default=None, description="Who at Cafcass.")


class Resolution(TransitionRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "resolved_on": "2017-04-26",
                "outcomes": ["care_plan_improved", "more_timely_decision"],
                "summary": "Permanence meeting held; plan for adoption agreed.",
            }
        },
    )
    date_field: ClassVar[str] = "resolved_on"
    resolved_on: Day | None = Field(default=None, description="Default today.")
    outcomes: list[Outcome] = Field(
        default_factory=list,
        max_length=len(Outcome),
        description="One or more: resolving without an outcome is refused (409).",
    )
    summary: str = Field(min_length=1, max_length=_TEXT)


class Withdrawal(TransitionRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"withdrawn_on": "2017-04-20", "reason": "The child returned home."}
        },
    )
    date_field: ClassVar[str] = "withdrawn_on"
    withdrawn_on: Day | None = Field(default=None, description="Default today.")
    reason: str = Field(min_length=1, max_length=_TEXT)


class Reopening(TransitionRequest):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "reopened_on": "2017-05-02",
                "reason": "The agreed permanence meeting did not take place.",
            }
        },
    )
    date_field: ClassVar[str] = "reopened_on"
    reopened_on: Day | None = Field(default=None, description="Default today.")
    reason: str = Field(min_length=1, max_length=_TEXT)


class StageResponse(BaseModel):
    responded_on: date
    responder: Contact
    response: str


class StageRecord(BaseModel):
    """One time the dispute was at a stage: who was asked, and their responses."""

    stage: int
    name: str
    entered_on: date
    due_by: date | None
    asked: Contact | None
    responses: list[StageResponse]


class DisputeSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": examples.DISPUTE_SUMMARY})
    id: uuid.UUID
    reference: str = Field(examples=["DRP-2017-0042"])
    child: ChildRef
    category: Category
    raised_by: IroRef
    raised_on: date
    themes: list[str]
    issue: str
    outcome_sought: str
    stage: int
    stage_name: str
    status: Status
    stage_entered_on: date
    stage_due_by: date | None = Field(description="None at a stage with no deadline.")
    overall_due_by: date = Field(description="20 working days after raised_on (configurable).")
    highest_stage: int
    last_action_on: date
    closed_on: date | None
    outcomes: list[Outcome]
    allowed_transitions: list[Transition] = Field(description="What can be done today.")
    version: int = Field(description="Also the ETag; send it back in If-Match to change it.")
    created_by: str
    created_at: UtcTimestamp
    updated_at: UtcTimestamp


class DisputeRead(DisputeSummary):
    model_config = ConfigDict(json_schema_extra={"example": examples.DISPUTE})
    stages: list[StageRecord] = Field(description="Every stage the dispute has been at.")


class ActionRead(BaseModel):
    """One entry of a dispute's history: what happened, on which day, who recorded it."""

    model_config = ConfigDict(json_schema_extra={"example": examples.ACTION})

    version: int = Field(description="The dispute's version this action produced.")
    action: Transition
    happened_on: date
    description: str = Field(description="The action in a sentence, for a timeline.")
    stage: int = Field(description="The stage the action left the dispute at.")
    stage_name: str
    status: Status
    stage_due_by: date | None
    details: dict[str, Any] = Field(description="What the request said (its date aside).")
    recorded_by: str
    recorded_by_name: str | None
    recorded_at: UtcTimestamp


class ProcessStage(BaseModel):
    number: int
    name: str
    working_days: int | None = Field(description="The stage's deadline; none for no deadline.")
    cafcass: bool = Field(description="The referral to Cafcass, outside the authority.")


class ProcessRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": examples.PROCESS})
    stages: list[ProcessStage]
    overall_working_days: int
    reopen_window_working_days: int
    themes: dict[str, str] = Field(description="Theme code to label.")
    outcomes: list[Outcome]
    categories: list[Category]
