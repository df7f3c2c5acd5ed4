"""The weekly tracker: every dispute open on a day, as it stood then, and its file columns."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from drp_api.disputes.lifecycle import ProcessRules, Status, stage_overdue
from drp_api.disputes.snapshots import DisputeOnDay, disputes_on
from drp_api.people import ChildRef, IroRef
from drp_api.tracker.schemas import TrackerRow
from iro_kit.exports import Column, Table


def tracker_row(found: DisputeOnDay, rules: ProcessRules, as_at: date) -> TrackerRow:
    return TrackerRow(
        dispute_id=found.dispute_id,
        reference=found.reference,
        child=ChildRef(
            id=found.child_id, external_id=found.child_external_id, name=found.child_name
        ),
        iro=IroRef(id=found.iro_id, name=found.iro_name),
        category=found.category,
        themes=list(found.themes),
        stage=found.stage,
        stage_name=rules.stage(found.stage).name,
        raised_on=found.raised_on,
        days_open=(as_at - found.raised_on).days,
        working_days_open=rules.calendar.working_days_between(found.raised_on, as_at),
        stage_due_by=found.stage_due_by,
        overall_due_by=found.overall_due_by,
        stage_overdue=stage_overdue(found.stage_due_by, as_at),
        overall_overdue=as_at > found.overall_due_by,
        last_action=found.last_action,
        last_action_on=found.last_action_on,
    )


async def tracker_rows(session: AsyncSession, rules: ProcessRules, as_at: date) -> list[TrackerRow]:
    """Disputes open at the end of `as_at`, oldest first."""
    found = await disputes_on(session, as_at, status=Status.open)
    return [tracker_row(one, rules, as_at) for one in found]


def tracker_table(rows: list[TrackerRow], themes: dict[str, str], as_at: date) -> Table:
    def labels(row: TrackerRow) -> str:
        return "; ".join(themes.get(code, code) for code in row.themes)

    columns = (
        Column("Reference", lambda r: r.reference, 15),
        Column("Child", lambda r: r.child.name, 22),
        Column("Child case id", lambda r: r.child.external_id, 14),
        Column("IRO", lambda r: r.iro.name, 20),
        Column("Category", lambda r: r.category.value.upper(), 10),
        Column("Themes", labels, 36),
        Column("Stage", lambda r: r.stage, 8),
        Column("Stage name", lambda r: r.stage_name, 30),
        Column("Raised on", lambda r: r.raised_on, 12),
        Column("Days open", lambda r: r.days_open, 10),
        Column("Working days open", lambda r: r.working_days_open, 12),
        Column("Stage due by", lambda r: r.stage_due_by, 12),
        Column("Overall due by", lambda r: r.overall_due_by, 12),
        Column("Stage overdue", lambda r: r.stage_overdue, 10),
        Column("Overall overdue", lambda r: r.overall_overdue, 10),
        Column("Last action", lambda r: r.last_action.value.replace("_", " "), 16),
        Column("Last action on", lambda r: r.last_action_on, 12),
    )
    return Table(title=f"DRP tracker {as_at}", columns=columns, rows=rows)
