"""Table 1 of the annual report: caseloads, as at D over the window [S, D] (KPIS.md)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.calendar import WorkingDayCalendar
from scorecard_api.kpis.facts import Facts
from scorecard_api.kpis.formulas import Window
from scorecard_api.models import allocation, child, iro, review

HANDBOOK_RANGE = (50.0, 70.0)  # looked after children per full-time IRO (IRO Handbook)


@dataclass(frozen=True, slots=True)
class IroInPost:
    iro_id: uuid.UUID
    name: str
    fte: float
    start_on: date
    end_on: date | None  # the last day in post

    def in_post_on(self, day: date) -> bool:
        return self.start_on <= day and (self.end_on is None or self.end_on >= day)


class IroCaseload(BaseModel):
    iro_id: uuid.UUID
    name: str
    fte: float
    allocated: int = Field(description="Children allocated to the IRO on the day.")
    caseload_per_fte: float | None = Field(description="Allocated / FTE, unrounded.")
    within_range: bool | None = Field(description="Inside the handbook's 50-70 per FTE.")


# 31 March 2017: 534 looked after children, 13.5 FTE of IROs in post (two of them shown).
CASELOAD_EXAMPLE = {
    "as_at": "2017-03-31",
    "from": "2016-04-01",
    "looked_after": 534,
    "reviews_held": 1289,
    "total_fte": 13.5,
    "average_caseload": 534 / 13.5,
    "iros": [
        {
            "iro_id": "9b2e4f70-1c3d-4e5f-8a6b-7c8d9e0f1a2b",
            "name": "Alex Morgan",
            "fte": 1.0,
            "allocated": 54,
            "caseload_per_fte": 54.0,
            "within_range": True,
        },
        {
            "iro_id": "2d4f6a8c-0e1b-4d3f-a5c7-9e1b3d5f7a9c",
            "name": "Priya Shah",
            "fte": 0.5,
            "allocated": 22,
            "caseload_per_fte": 44.0,
            "within_range": False,
        },
    ],
}


class CaseloadTable(BaseModel):
    as_at: date
    from_: date = Field(alias="from", serialization_alias="from")
    looked_after: int = Field(description="Children in P(D): looked after, not on short breaks.")
    reviews_held: int = Field(description="Reviews held in the window, short breaks included.")
    total_fte: float = Field(description="FTE of the IROs in post on the day.")
    average_caseload: float | None = Field(
        description="Looked after children / total FTE, unrounded (534 / 13.5 = 39.56)."
    )
    iros: list[IroCaseload]

    model_config = ConfigDict(
        populate_by_name=True, json_schema_extra={"example": CASELOAD_EXAMPLE}
    )


def caseload_table(
    window: Window,
    looked_after: int,
    reviews_held: int,
    iros: Iterable[IroInPost],
    allocated: Mapping[uuid.UUID, int],
) -> CaseloadTable:
    """Pure: the table from the counts (IROs in post on D only; an allocation includes its
    last day, as does a time in post)."""
    in_post = sorted((i for i in iros if i.in_post_on(window.end)), key=lambda i: i.name)
    total_fte = sum(i.fte for i in in_post)
    low, high = HANDBOOK_RANGE
    rows = []
    for i in in_post:
        count = allocated.get(i.iro_id, 0)
        per_fte = count / i.fte if i.fte else None
        within = low <= per_fte <= high if per_fte is not None else None
        rows.append(
            IroCaseload(
                iro_id=i.iro_id,
                name=i.name,
                fte=i.fte,
                allocated=count,
                caseload_per_fte=per_fte,
                within_range=within,
            )
        )
    return CaseloadTable(
        as_at=window.end,
        from_=window.start,
        looked_after=looked_after,
        reviews_held=reviews_held,
        total_fte=total_fte,
        average_caseload=looked_after / total_fte if total_fte else None,
        iros=rows,
    )


async def load_caseload(
    session: AsyncSession, window: Window, calendar: WorkingDayCalendar
) -> CaseloadTable:
    facts = await Facts.on(session, window, calendar)
    held = await session.scalar(
        select(func.count())
        .select_from(review)
        .join(child, child.c.id == review.c.child_id)
        .where(review.c.held_on.between(window.start, window.end))
    )
    iros = [
        IroInPost(r.id, r.name, r.fte, r.start_on, r.end_on)
        for r in await session.execute(select(iro))
    ]
    rows = await session.execute(
        select(allocation.c.iro_id, allocation.c.child_id)
        .join(child, child.c.id == allocation.c.child_id)
        .where(
            allocation.c.start_on <= window.end,
            or_(allocation.c.end_on.is_(None), allocation.c.end_on >= window.end),
        )
    )
    allocated = Counter(iro_id for iro_id, _ in {(i, c) for i, c in rows})
    return caseload_table(window, len(facts.members), int(held or 0), iros, allocated)
