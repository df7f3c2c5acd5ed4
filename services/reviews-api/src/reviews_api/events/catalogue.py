"""The payload of every event reviews-api emits: the aggregate's whole current state.

Schemas are generated from these models and committed under services/reviews-api/events/
(`uv run python -m reviews_api event-schemas`); raise `schema_version` when a payload changes.
Free text (notes, reasons' text) stays in reviews-api: it is not needed elsewhere.
"""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel

from iro_kit.events.schemas import EventState


class EpisodeState(BaseModel):
    id: uuid.UUID
    external_id: str | None
    start_on: date
    end_on: date | None
    reason_new_episode: str
    legal_status: str
    placement: str | None
    reason_ended: str | None


class PeriodState(BaseModel):
    start_on: date
    end_on: date | None
    clock: str
    legal_status: str
    episodes: list[EpisodeState]


class ChildState(EventState):
    id: uuid.UUID
    external_id: str
    given_name: str | None
    family_name: str | None
    date_of_birth: date
    sex: str
    periods_of_care: list[PeriodState]
    deleted: bool = False


class IroState(EventState):
    id: uuid.UUID
    name: str
    email: str
    fte: float
    in_post_from: date
    in_post_to: date | None


class AllocationEntry(BaseModel):
    id: uuid.UUID
    iro_id: uuid.UUID
    from_on: date
    to_on: date | None


class AllocationState(EventState):
    child_id: uuid.UUID
    allocations: list[AllocationEntry]


class ReviewState(EventState):
    id: uuid.UUID
    child_id: uuid.UUID
    scheduled_for: date | None
    held_on: date | None
    series_started_on: date | None
    period_started_on: date | None
    sequence: str | None
    due_by: date | None
    in_timescale: bool | None
    participation_code: str | None
    views_method: str | None
    late_reason: str | None
    deleted: bool


class VisitState(EventState):
    id: uuid.UUID
    child_id: uuid.UUID
    kind: str
    visited_on: date
    iro_id: uuid.UUID | None
    deleted: bool


class SecureReviewState(EventState):
    id: uuid.UUID
    placement_id: uuid.UUID
    child_id: uuid.UUID
    held_on: date
    due_by: date
    in_timescale: bool
    panel_size: int
    independent_members: int
    deleted: bool


class PlanDateEntry(BaseModel):
    kind: str
    dated_on: date
    source: str


class PlanState(EventState):
    child_id: uuid.UUID
    plan_dates: list[PlanDateEntry]


CATALOGUE: dict[str, type[EventState]] = {
    "plan.changed": PlanState,
    "child.changed": ChildState,
    "iro.changed": IroState,
    "allocation.changed": AllocationState,
    "review.changed": ReviewState,
    "visit.changed": VisitState,
    "secure_review.changed": SecureReviewState,
}
