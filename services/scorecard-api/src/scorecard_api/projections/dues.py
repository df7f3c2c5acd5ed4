"""Every review that fell due in each period of care: pure, from episodes and held reviews.

The chain is what the scorecard's review KPIs count: for each period, the reviews held in it
with the due date each was held against (the kit's schedule, the same rules as reviews-api),
then the review due after the last one held, which is not held yet. A due date depends only on
what came before it, so the chain as it stood on any past day is the part of it whose due dates
are on or before that day; later reviews never move it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from iro_kit.schedule import (
    EpisodeFacts,
    ReviewFacts,
    ScheduleRules,
    assess_reviews,
    next_review_due,
    periods_of_care,
)
from scorecard_api.kpis.formulas import midpoint


@dataclass(frozen=True, slots=True)
class Due:
    period_start_on: date
    ordinal: int  # 0 for the first review of the period
    sequence: str
    anchor_on: date  # the period's start, or the previous review's held date
    due_by: date
    held_on: date | None
    review_id: uuid.UUID | None
    status_on_due: str | None  # legal status on the due date; None when not looked after
    visit_by: date | None = None  # held reviews: a pre-review visit counts up to this day
    midpoint_on: date | None = None  # after a review: halfway to this due date, rounded down


def review_dues(
    episodes: Iterable[EpisodeFacts], reviews: Iterable[ReviewFacts], rules: ScheduleRules
) -> list[Due]:
    held = list(reviews)
    dues: list[Due] = []
    for period in periods_of_care(episodes):
        assessed = assess_reviews(period, held, rules)
        anchor = period.start
        for ordinal, review in enumerate(assessed):
            due = review.due_by.value
            held_on = review.review.held_on
            dues.append(
                Due(
                    period.start,
                    ordinal,
                    review.sequence.value,
                    anchor,
                    due,
                    held_on,
                    review.review.key,
                    period.legal_status_on(due),
                    rules.calendar.subtract_working_days(held_on, rules.visit_working_days),
                    midpoint(anchor, due) if ordinal else None,
                )
            )
            anchor = review.review.held_on
        sequence, next_due = next_review_due(period, assessed, rules)
        due = next_due.value
        if period.end is None or due < period.end:  # no review falls due after a period ends
            status = period.legal_status_on(due)
            ordinal = len(assessed)
            middle = midpoint(anchor, due) if ordinal else None
            dues.append(
                Due(
                    period.start,
                    ordinal,
                    sequence.value,
                    anchor,
                    due,
                    None,
                    None,
                    status,
                    None,
                    middle,
                )
            )
    return dues
