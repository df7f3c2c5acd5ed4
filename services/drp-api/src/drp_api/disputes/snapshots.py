"""Disputes as they stood at the end of a day, read from their history.

Each action records the state it left the dispute in, and actions are dated in order (never
before the previous one), so a dispute's state on day D is the state after its last action
dated on or before D. The tracker, the worklists and the statistics all read this, so a
report for a past day does not change when later actions are recorded, and a backlog entered
with real dates reports as it happened.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from drp_api.disputes.lifecycle import Category, Outcome, Status, Transition
from drp_api.models import Dispute, DisputeAction


@dataclass(frozen=True, slots=True)
class DisputeOnDay:
    dispute_id: uuid.UUID
    reference: str
    child_id: uuid.UUID
    child_external_id: str
    child_name: str
    iro_id: uuid.UUID
    iro_name: str
    category: Category
    themes: tuple[str, ...]
    raised_on: date
    overall_due_by: date
    # After the last action on or before the day:
    stage: int
    status: Status
    stage_due_by: date | None
    highest_stage: int
    outcomes: tuple[Outcome, ...]
    last_action: Transition
    last_action_on: date


def _on_day(dispute: Dispute, action: DisputeAction) -> DisputeOnDay:
    return DisputeOnDay(
        dispute_id=dispute.id,
        reference=dispute.reference,
        child_id=dispute.child_id,
        child_external_id=dispute.child_external_id,
        child_name=dispute.child_name,
        iro_id=dispute.iro_id,
        iro_name=dispute.iro_name,
        category=Category(dispute.category),
        themes=tuple(dispute.themes),
        raised_on=dispute.raised_on,
        overall_due_by=dispute.overall_due_by,
        stage=action.stage,
        status=Status(action.status),
        stage_due_by=action.stage_due_by,
        highest_stage=action.highest_stage,
        outcomes=tuple(Outcome(o) for o in action.outcomes),
        last_action=Transition(action.action),
        last_action_on=action.happened_on,
    )


async def disputes_on(
    session: AsyncSession,
    day: date,
    *,
    status: Status | None = None,
    category: Category | None = None,
    iro_id: uuid.UUID | None = None,
) -> list[DisputeOnDay]:
    """Every dispute raised on or before `day`, as it stood then, oldest first."""
    latest = (
        select(DisputeAction.dispute_id, func.max(DisputeAction.version).label("version"))
        .where(DisputeAction.happened_on <= day)
        .group_by(DisputeAction.dispute_id)
        .subquery()
    )
    query = (
        select(Dispute, DisputeAction)
        .join(latest, latest.c.dispute_id == Dispute.id)
        .join(
            DisputeAction,
            and_(
                DisputeAction.dispute_id == Dispute.id,
                DisputeAction.version == latest.c.version,
            ),
        )
        .order_by(Dispute.raised_on, Dispute.reference)
    )
    if status is not None:
        query = query.where(DisputeAction.status == status.value)
    if category is not None:
        query = query.where(Dispute.category == category.value)
    if iro_id is not None:
        query = query.where(Dispute.iro_id == iro_id)
    rows = await session.execute(query)
    return [_on_day(dispute, action) for dispute, action in rows]
