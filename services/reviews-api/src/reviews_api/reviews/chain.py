"""Keep every held review's due-by date and in-timescale flag as the schedule computes them.

Run after any change to a child's episodes or reviews: correcting an earlier record moves the
due dates of the reviews after it, so the whole chain is recomputed at once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.schedule import ScheduleRules, assess_reviews
from reviews_api.casefile import CaseFile


async def reassess_reviews(session: AsyncSession, casefile: CaseFile, rules: ScheduleRules) -> None:
    assess_chain(casefile, rules)
    await session.flush()


def assess_chain(casefile: CaseFile, rules: ScheduleRules) -> None:
    """`reassess_reviews` without the flush, for a loader that flushes many children at once."""
    by_id = {review.id: review for review in casefile.reviews if review.held_on is not None}
    assessed_ids = set()
    facts = casefile.review_facts()
    for period in casefile.periods():
        for assessed in assess_reviews(period, facts, rules):
            review = by_id[assessed.review.key]
            assessed_ids.add(review.id)
            review.period_started_on = period.start
            review.sequence = assessed.sequence.value
            review.due_by = assessed.due_by.value
            review.in_timescale = assessed.in_timescale
            if assessed.in_timescale:
                # A correction elsewhere brought it into timescale: a late reason no longer
                # applies. (One that became late keeps no reason until someone records it;
                # the late-reasons table counts it as "not recorded".)
                review.late_reason = review.late_reason_text = None
    for review_id, review in by_id.items():
        if review_id not in assessed_ids:  # no longer inside a period of care
            review.period_started_on = review.sequence = review.due_by = None
            review.in_timescale = None
