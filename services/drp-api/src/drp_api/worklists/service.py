"""Stage worklists: open disputes whose stage is due within N working days, or overdue."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from drp_api.disputes.lifecycle import ProcessRules, Status, stage_overdue
from drp_api.disputes.snapshots import disputes_on
from drp_api.people import ChildRef, IroRef
from drp_api.worklists.schemas import StageDue


async def stages_due(
    session: AsyncSession,
    rules: ProcessRules,
    as_at: date,
    within: int,
    iro_id: uuid.UUID | None,
) -> list[StageDue]:
    """Most overdue first; a stage with no deadline (Cafcass) never appears."""
    due = []
    for found in await disputes_on(session, as_at, status=Status.open, iro_id=iro_id):
        if found.stage_due_by is None:
            continue
        left = rules.calendar.working_days_between(as_at, found.stage_due_by)
        if left > within:
            continue
        due.append(
            StageDue(
                dispute_id=found.dispute_id,
                reference=found.reference,
                child=ChildRef(
                    id=found.child_id, external_id=found.child_external_id, name=found.child_name
                ),
                iro=IroRef(id=found.iro_id, name=found.iro_name),
                category=found.category,
                stage=found.stage,
                stage_name=rules.stage(found.stage).name,
                stage_due_by=found.stage_due_by,
                working_days_left=left,
                overdue=stage_overdue(found.stage_due_by, as_at),
                overall_due_by=found.overall_due_by,
            )
        )
    return sorted(due, key=lambda d: (d.stage_due_by, d.reference))
