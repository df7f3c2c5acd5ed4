"""The problem types reviews-api's own code answers, beyond the kit's
(iro_kit.problem_types), and the exceptions that raise them."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from iro_kit.errors import Conflict
from iro_kit.problem_types import ProblemType, register


class AlreadyRecordedProblem(BaseModel):
    """The record this one would repeat (one member, by what was repeated)."""

    existing_id: uuid.UUID | None = Field(
        default=None, description="The child already recorded with this `external_id`."
    )
    existing_review_id: uuid.UUID | None = Field(
        default=None, description="The review already held for this child on this day."
    )
    existing_visit_id: uuid.UUID | None = Field(
        default=None, description="The visit of this kind already recorded on this day."
    )


class EpisodesOverlapProblem(BaseModel):
    overlapping_episode_id: uuid.UUID = Field(description="The child's episode it overlaps.")


class AlreadyBookedProblem(BaseModel):
    booked_review_id: uuid.UUID = Field(description="The child's open booking: change it.")


class LaterAllocationProblem(BaseModel):
    allocation_id: uuid.UUID = Field(
        description="The child's allocation starting on or after the date asked for."
    )


class UnknownChildProblem(BaseModel):
    retryable: bool = Field(
        description="True: send the child first (or earlier in the batch), then this again."
    )


PROBLEMS = register(
    ProblemType(
        "already-recorded",
        409,
        "Already recorded",
        "A second record of the same thing (a double submit, say): the body names the first.",
        AlreadyRecordedProblem,
    ),
    ProblemType(
        "episodes-overlap",
        409,
        "Episodes overlap",
        "Episodes of one child may not overlap.",
        EpisodesOverlapProblem,
    ),
    ProblemType(
        "already-booked",
        409,
        "Review already booked",
        "A child has one open booking at a time: change it, or record the review as held.",
        AlreadyBookedProblem,
    ),
    ProblemType(
        "later-allocation",
        409,
        "A later allocation exists",
        "The child has an allocation "
        "starting on or after this date: delete it if it was a mistake.",
        LaterAllocationProblem,
    ),
    ProblemType(
        "unknown-child",
        409,
        "Child not yet known",
        "An integration item names a child the service has not been sent yet.",
        UnknownChildProblem,
    ),
    ProblemType(
        "outside-period-of-care",
        422,
        "Request is invalid",
        "A review or visit dated outside "
        "every period of care of the child; `errors` names the date.",
    ),
)


class AlreadyRecorded(Conflict):
    """A second record of the same event (a double submit): the body names the first."""

    slug, title = "already-recorded", "Already recorded"


class EpisodesOverlap(Conflict):
    slug, title = "episodes-overlap", "Episodes overlap"


class AlreadyBooked(Conflict):
    slug, title = "already-booked", "Review already booked"


class LaterAllocation(Conflict):
    slug, title = "later-allocation", "A later allocation exists"


class UnknownChild(Conflict):
    slug, title = "unknown-child", "Child not yet known"
