"""The statutory review schedule: pure functions over plain values, no database, no web.

`compute_schedule(episodes, reviews, rules, as_at)` is the one entry point the service uses;
`periods_of_care` and `assess_reviews` are exposed for the scorecard-shaped questions.
"""

from iro_kit.schedule.model import (
    AssessedReview,
    Clock,
    EpisodeFacts,
    ExplainedDate,
    MonthRule,
    NextReview,
    PeriodOfCare,
    ReviewFacts,
    ReviewSequence,
    Schedule,
    ScheduleRules,
    ScheduleStatus,
)
from iro_kit.schedule.rules import (
    add_months,
    allocation_due_by,
    assess_reviews,
    compute_schedule,
    next_review_due,
    periods_of_care,
)

__all__ = [
    "AssessedReview",
    "Clock",
    "EpisodeFacts",
    "ExplainedDate",
    "MonthRule",
    "NextReview",
    "PeriodOfCare",
    "ReviewFacts",
    "ReviewSequence",
    "Schedule",
    "ScheduleRules",
    "ScheduleStatus",
    "add_months",
    "allocation_due_by",
    "assess_reviews",
    "compute_schedule",
    "next_review_due",
    "periods_of_care",
]
