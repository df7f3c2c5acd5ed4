"""Table 3 (late reviews by reason and financial quarter) and the use of tools (KPIS.md)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scorecard_api.kpis.formulas import Window
from scorecard_api.models import child, review, review_due

LATE_REASONS = (
    "late_notification",
    "calculation_error",
    "missing_report",
    "non_attendance_significant_person",
    "non_attendance_social_worker",
    "series_of_meetings",
    "other",
    "not_recorded",
)


def financial_quarter(day: date) -> str:
    """`2016/17 Q1` for April to June 2016 ... `2016/17 Q4` for January to March 2017."""
    start = day.year if day.month >= 4 else day.year - 1
    quarter = (day.month - 4) % 12 // 3 + 1
    return f"{start}/{(start + 1) % 100:02d} Q{quarter}"


@dataclass(frozen=True, slots=True)
class LateReview:
    child_id: uuid.UUID
    held_on: date
    due_by: date
    late_reason: str | None


class LateReasonRow(BaseModel):
    reason: str
    by_quarter: dict[str, int]
    total: int


_QUARTERS = ["2016/17 Q1", "2016/17 Q2", "2016/17 Q3", "2016/17 Q4"]
# 2016/17: 14 reviews held late, of 12 children, by recorded reason and quarter held.
LATE_REVIEWS_EXAMPLE = {
    "as_at": "2017-03-31",
    "from": "2016-04-01",
    "quarters": _QUARTERS,
    "reasons": [
        {
            "reason": reason,
            "by_quarter": dict(zip(_QUARTERS, counts, strict=True)),
            "total": sum(counts),
        }
        for reason, counts in (
            ("late_notification", (2, 1, 0, 1)),
            ("calculation_error", (1, 0, 0, 0)),
            ("missing_report", (0, 1, 1, 0)),
            ("non_attendance_significant_person", (1, 0, 1, 0)),
            ("non_attendance_social_worker", (0, 1, 0, 1)),
            ("series_of_meetings", (0, 0, 1, 0)),
            ("other", (0, 0, 0, 1)),
            ("not_recorded", (0, 1, 0, 0)),
        )
    ],
    "reviews_by_quarter": dict(zip(_QUARTERS, (4, 4, 3, 3), strict=True)),
    "children_by_quarter": dict(zip(_QUARTERS, (4, 3, 3, 3), strict=True)),
    "total_reviews": 14,
    "total_children": 12,
}


class LateReviewsTable(BaseModel):
    as_at: date
    from_: date = Field(alias="from", serialization_alias="from")
    quarters: list[str]
    reasons: list[LateReasonRow]
    reviews_by_quarter: dict[str, int]
    children_by_quarter: dict[str, int] = Field(description="Distinct children with a late review.")
    total_reviews: int
    total_children: int

    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"example": LATE_REVIEWS_EXAMPLE}
    )


def late_reviews_table(window: Window, reviews: Iterable[LateReview]) -> LateReviewsTable:
    """Pure: reviews held after their due date with the held date in the window."""
    late = [r for r in reviews if r.held_on > r.due_by and r.held_on in window]
    quarters = sorted({financial_quarter(r.held_on) for r in late})
    counts: dict[str, dict[str, int]] = {reason: defaultdict(int) for reason in LATE_REASONS}
    children: dict[str, set[uuid.UUID]] = defaultdict(set)
    for r in late:
        quarter = financial_quarter(r.held_on)
        reason = r.late_reason if r.late_reason in counts else "not_recorded"
        counts[reason][quarter] += 1
        children[quarter].add(r.child_id)
    rows = [
        LateReasonRow(
            reason=reason,
            by_quarter={q: counts[reason].get(q, 0) for q in quarters},
            total=sum(counts[reason].values()),
        )
        for reason in LATE_REASONS
    ]
    return LateReviewsTable(
        as_at=window.end,
        from_=window.start,
        quarters=quarters,
        reasons=rows,
        reviews_by_quarter={q: sum(r.by_quarter[q] for r in rows) for q in quarters},
        children_by_quarter={q: len(children[q]) for q in quarters},
        total_reviews=len(late),
        total_children=len({r.child_id for r in late}),
    )


async def load_late_reviews(session: AsyncSession, window: Window) -> LateReviewsTable:
    rows = await session.execute(
        select(
            review_due.c.child_id, review_due.c.held_on, review_due.c.due_by, review.c.late_reason
        )
        .join(review, review.c.id == review_due.c.review_id)
        .join(child, child.c.id == review_due.c.child_id)
        .where(
            review_due.c.held_on.between(window.start, window.end),
            review_due.c.held_on > review_due.c.due_by,
        )
    )
    return late_reviews_table(window, [LateReview(*row) for row in rows])


TOOLS_EXAMPLE = {
    "as_at": "2017-03-31",
    "from": "2016-04-01",
    "reviews_held": 1289,
    "momo": 214,
    "viewpoint": 97,
}


class ToolsTable(BaseModel):
    as_at: date
    from_: date = Field(alias="from", serialization_alias="from")
    reviews_held: int
    momo: int = Field(description="Reviews whose child's views were conveyed by MOMO.")
    viewpoint: int = Field(description="Reviews whose child's views were conveyed by Viewpoint.")

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={"example": TOOLS_EXAMPLE},
    )


async def load_tools(session: AsyncSession, window: Window) -> ToolsTable:
    rows = await session.execute(
        select(review.c.views_method, func.count())
        .join(child, child.c.id == review.c.child_id)
        .where(and_(review.c.held_on >= window.start, review.c.held_on <= window.end))
        .group_by(review.c.views_method)
    )
    counts = {method: n for method, n in rows}
    return ToolsTable(
        as_at=window.end,
        from_=window.start,
        reviews_held=sum(counts.values()),
        momo=counts.get("momo", 0),
        viewpoint=counts.get("viewpoint", 0),
    )
