"""Table 4 of the annual report: case escalations (disputes about looked after children).

A dispute's state on D is the one its history gave it on D: the last action dated on or before
D (KPIS.md). Stage 5 is the referral to Cafcass, outside the authority.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from scorecard_api.kpis.formulas import Window
from scorecard_api.models import child, dispute, dispute_action

CLOSED = frozenset({"resolved", "withdrawn", "referred_to_cafcass"})
CAFCASS_STAGE = 5


@dataclass(frozen=True, slots=True)
class Action:
    happened_on: date
    version: int
    stage: int
    status: str
    stage_due_by: date | None


@dataclass(frozen=True, slots=True)
class DisputeFacts:
    dispute_id: uuid.UUID
    themes: tuple[str, ...]
    raised_on: date
    overall_due_by: date  # 20 working days after it was raised
    history: tuple[Action, ...]

    def known_on(self, day: date) -> list[Action]:
        return sorted((a for a in self.history if a.happened_on <= day), key=lambda a: a.version)


ESCALATIONS_EXAMPLE = {
    "as_at": "2017-03-31",
    "from": "2016-04-01",
    "raised": 38,
    "by_theme": {
        "care_planning": 14,
        "drift_and_delay": 11,
        "permanency": 7,
        "contact": 5,
        "placement": 4,
        "education_pep": 3,
        "legal_status": 2,
    },
    "by_highest_stage": {"1": 24, "2": 9, "3": 3, "4": 1, "5": 1},
    "open": 4,
    "overdue": 1,
    "resolved": 31,
    "resolved_within_20_working_days": 26,
    "resolved_within_20_working_days_percent": 26 / 31 * 100,
}


class EscalationsTable(BaseModel):
    as_at: date
    from_: date = Field(alias="from", serialization_alias="from")
    raised: int = Field(description="Disputes about looked after children raised in the window.")
    by_theme: dict[str, int] = Field(description="A dispute with two themes counts in each.")
    by_highest_stage: dict[str, int] = Field(description="The highest stage reached by D.")
    open: int = Field(description="Raised on or before D and not closed on or before D.")
    overdue: int = Field(description="Open on D, below stage 5, past its stage's due date.")
    resolved: int = Field(description="Raised in the window and resolved on or before D.")
    resolved_within_20_working_days: int
    resolved_within_20_working_days_percent: float | None = Field(
        description="Of those resolved; null when none was."
    )

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={"example": ESCALATIONS_EXAMPLE},
    )


def escalations_table(
    window: Window, disputes: Iterable[DisputeFacts], stages: Sequence[int] = (1, 2, 3, 4, 5)
) -> EscalationsTable:
    """Pure: Table 4 as at the window's end from every LAC dispute's history."""
    day = window.end
    raised_in_window, themes, highest = 0, Counter[str](), Counter[int]()
    open_, overdue, resolved, in_time = 0, 0, 0, 0
    for d in disputes:
        history = d.known_on(day)
        if d.raised_on > day or not history:
            continue
        now = history[-1]
        if now.status not in CLOSED:
            open_ += 1
            late = now.stage_due_by is not None and day > now.stage_due_by
            overdue += now.stage < CAFCASS_STAGE and late
        if d.raised_on not in window:
            continue
        raised_in_window += 1
        themes.update(set(d.themes))
        highest[max(a.stage for a in history)] += 1
        if now.status == "resolved":
            resolved += 1
            in_time += now.happened_on <= d.overall_due_by
    return EscalationsTable(
        as_at=day,
        from_=window.start,
        raised=raised_in_window,
        by_theme=dict(sorted(themes.items(), key=lambda item: (-item[1], item[0]))),
        by_highest_stage={str(s): highest.get(s, 0) for s in stages},
        open=open_,
        overdue=overdue,
        resolved=resolved,
        resolved_within_20_working_days=in_time,
        resolved_within_20_working_days_percent=in_time / resolved * 100 if resolved else None,
    )


async def load_escalations(session: AsyncSession, window: Window) -> EscalationsTable:
    lac = (
        select(dispute.c.id)
        .join(child, child.c.id == dispute.c.child_id)
        .where(dispute.c.category == "lac", dispute.c.raised_on <= window.end)
    )
    rows = await session.execute(
        select(dispute.c.id, dispute.c.themes, dispute.c.raised_on, dispute.c.overall_due_by).where(
            dispute.c.id.in_(lac)
        )
    )
    found = {r.id: r for r in rows}
    history = await session.execute(
        select(dispute_action).where(
            dispute_action.c.dispute_id.in_(lac), dispute_action.c.happened_on <= window.end
        )
    )
    actions: dict[uuid.UUID, list[Action]] = defaultdict(list)
    for a in history:
        actions[a.dispute_id].append(
            Action(a.happened_on, a.version, a.stage, a.status, a.stage_due_by)
        )
    return escalations_table(
        window,
        (
            DisputeFacts(i, tuple(r.themes), r.raised_on, r.overall_due_by, tuple(actions[i]))
            for i, r in found.items()
        ),
    )
