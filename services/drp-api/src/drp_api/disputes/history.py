"""A dispute's history: appended with every action, never changed, read as stages and a timeline.

`append` is the only writer of `dispute_action`; nothing in the service updates or deletes an
action (and the mapper and the database refuse it). `stage_records` and `describe` are pure.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from drp_api.disputes.lifecycle import DisputeState, ProcessRules, Transition
from drp_api.disputes.schemas import (
    ActionRead,
    Contact,
    StageRecord,
    StageResponse,
)
from drp_api.models import DisputeAction
from iro_kit.auth import Principal

_ENTERS_A_STAGE = frozenset(
    {Transition.raise_dispute, Transition.escalate, Transition.refer_to_cafcass, Transition.reopen}
)


async def append(
    session: AsyncSession,
    *,
    dispute_id: uuid.UUID,
    version: int,
    transition: Transition,
    happened_on: date,
    state: DisputeState,
    details: dict[str, Any],
    by: Principal,
) -> DisputeAction:
    action = DisputeAction(
        id=uuid.uuid4(),
        dispute_id=dispute_id,
        version=version,
        action=transition.value,
        happened_on=happened_on,
        stage=state.stage,
        status=state.status.value,
        stage_due_by=state.stage_due_by,
        highest_stage=state.highest_stage,
        outcomes=[o.value for o in state.outcomes],
        details=details,
        recorded_by=by.subject,
        recorded_by_name=by.name,
    )
    session.add(action)
    await session.flush()
    return action


async def actions_of(session: AsyncSession, dispute_id: uuid.UUID) -> list[DisputeAction]:
    rows = await session.scalars(
        select(DisputeAction)
        .where(DisputeAction.dispute_id == dispute_id)
        .order_by(DisputeAction.version)
    )
    return list(rows)


def _contact(value: Any) -> Contact | None:
    return Contact.model_validate(value) if value else None


def stage_records(actions: Sequence[DisputeAction], rules: ProcessRules) -> list[StageRecord]:
    """Every time the dispute entered a stage, with who was asked and the responses there."""
    records: list[StageRecord] = []
    for action in actions:
        transition = Transition(action.action)
        if transition in _ENTERS_A_STAGE:
            records.append(
                StageRecord(
                    stage=action.stage,
                    name=rules.stage(action.stage).name,
                    entered_on=action.happened_on,
                    due_by=action.stage_due_by,
                    asked=_contact(action.details.get("asked")),
                    responses=[],
                )
            )
        elif transition is Transition.respond and records:
            records[-1].responses.append(
                StageResponse(
                    responded_on=action.happened_on,
                    responder=Contact.model_validate(action.details["responder"]),
                    response=action.details["response"],
                )
            )
    return records


def _who(value: Any) -> str:
    contact = _contact(value)
    if contact is None:
        return ""
    return f"{contact.name} ({contact.role})" if contact.role else contact.name


def _stage(rules: ProcessRules, number: int) -> str:
    return f"stage {number}, {rules.stage(number).name}"


def describe(action: DisputeAction, rules: ProcessRules) -> str:
    """The action in a sentence or two, for a printable timeline."""
    details, transition = action.details, Transition(action.action)
    asked = f" Asked: {_who(details.get('asked'))}." if details.get("asked") else ""
    reason = f" Reason: {details['reason']}" if details.get("reason") else ""
    match transition:
        case Transition.raise_dispute:
            return f"Raised at {_stage(rules, action.stage)}.{asked}{reason}"
        case Transition.respond:
            return f"Response from {_who(details['responder'])}: {details['response']}"
        case Transition.escalate:
            return f"Escalated to {_stage(rules, action.stage)}.{asked}{reason}"
        case Transition.refer_to_cafcass:
            return f"Referred to Cafcass.{asked}{reason}"
        case Transition.resolve:
            outcomes = ", ".join(o.replace("_", " ") for o in action.outcomes)
            return f"Resolved ({outcomes}): {details['summary']}"
        case Transition.withdraw:
            return f"Withdrawn: {details['reason']}"
        case Transition.reopen:
            return f"Reopened at {_stage(rules, action.stage)}: {details['reason']}"
    return transition.value  # pragma: no cover - every transition is matched above


def action_read(action: DisputeAction, rules: ProcessRules) -> ActionRead:
    return ActionRead(
        version=action.version,
        action=Transition(action.action),
        happened_on=action.happened_on,
        description=describe(action, rules),
        stage=action.stage,
        stage_name=rules.stage(action.stage).name,
        status=action.status,  # type: ignore[arg-type]
        stage_due_by=action.stage_due_by,
        details=action.details,
        recorded_by=action.recorded_by,
        recorded_by_name=action.recorded_by_name,
        recorded_at=action.recorded_at,
    )
