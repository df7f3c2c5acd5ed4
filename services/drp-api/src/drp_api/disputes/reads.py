"""What the dispute routes return: a dispute with its stages, and its history as a timeline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from drp_api.disputes.history import action_read, stage_records
from drp_api.disputes.lifecycle import ProcessRules, allowed_transitions
from drp_api.disputes.schemas import ActionRead, DisputeRead, DisputeSummary
from drp_api.disputes.service import state_of
from drp_api.models import Dispute, DisputeAction
from drp_api.people import ChildRef, IroRef
from iro_kit.exports import Column, Table


def _fields(dispute: Dispute, rules: ProcessRules, today: date) -> dict[str, Any]:
    return {
        "id": dispute.id,
        "reference": dispute.reference,
        "child": ChildRef(
            id=dispute.child_id, external_id=dispute.child_external_id, name=dispute.child_name
        ),
        "category": dispute.category,
        "raised_by": IroRef(id=dispute.iro_id, name=dispute.iro_name),
        "raised_on": dispute.raised_on,
        "themes": dispute.themes,
        "issue": dispute.issue,
        "outcome_sought": dispute.outcome_sought,
        "stage": dispute.stage,
        "stage_name": rules.stage(dispute.stage).name,
        "status": dispute.status,
        "stage_entered_on": dispute.stage_entered_on,
        "stage_due_by": dispute.stage_due_by,
        "overall_due_by": dispute.overall_due_by,
        "highest_stage": dispute.highest_stage,
        "last_action_on": dispute.last_action_on,
        "closed_on": dispute.closed_on,
        "outcomes": dispute.outcomes,
        "allowed_transitions": allowed_transitions(state_of(dispute), rules, today),
        "version": dispute.version,
        "created_by": dispute.created_by,
        "created_at": dispute.created_at,
        "updated_at": dispute.updated_at,
    }


def dispute_summary(dispute: Dispute, rules: ProcessRules, today: date) -> DisputeSummary:
    return DisputeSummary(**_fields(dispute, rules, today))


def dispute_read(
    dispute: Dispute, actions: Sequence[DisputeAction], rules: ProcessRules, today: date
) -> DisputeRead:
    return DisputeRead(**_fields(dispute, rules, today), stages=stage_records(actions, rules))


TIMELINE_COLUMNS = (
    Column("Date", lambda a: a.happened_on, 12),
    Column("Action", lambda a: a.action.value.replace("_", " "), 16),
    Column("Stage", lambda a: a.stage, 8),
    Column("Stage name", lambda a: a.stage_name, 30),
    Column("Status", lambda a: a.status.value.replace("_", " "), 20),
    Column("Stage due by", lambda a: a.stage_due_by, 12),
    Column("What", lambda a: a.description, 80),
    Column("Recorded by", lambda a: a.recorded_by_name or a.recorded_by, 20),
    Column("Version", lambda a: a.version, 8),
)


def timeline(dispute: Dispute, actions: Sequence[ActionRead]) -> Table:
    return Table(title=f"{dispute.reference} history", columns=TIMELINE_COLUMNS, rows=actions)


def timeline_heading(dispute: Dispute, rules: ProcessRules, printed_on: date) -> list[str]:
    themes = ", ".join(t.replace("_", " ") for t in dispute.themes)
    return [
        f"{dispute.reference}: {dispute.child_name} ({dispute.child_external_id})",
        f"{dispute.category.upper()} dispute raised by {dispute.iro_name} on "
        f"{dispute.raised_on}. Themes: {themes}.",
        f"Issue: {dispute.issue}",
        f"Outcome sought: {dispute.outcome_sought}",
        f"Now {dispute.status.replace('_', ' ')} at stage {dispute.stage} "
        f"({rules.stage(dispute.stage).name}). Printed on {printed_on}.",
    ]


def actions_read(actions: Sequence[DisputeAction], rules: ProcessRules) -> list[ActionRead]:
    return [action_read(action, rules) for action in actions]
