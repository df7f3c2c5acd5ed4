"""drp-api's events: it keeps a read copy of reviews-api's children and IROs, and publishes
every dispute's whole state (`dispute.changed`) when it changes.

Schemas of what it emits are committed under services/drp-api/events/
(`uv run python -m drp_api event-schemas`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from drp_api.models import EVENT_TABLES, ChildCopy, Dispute, DisputeAction, IroCopy
from iro_kit.events import CloudEvent
from iro_kit.events.inbox import insert_rows, newest
from iro_kit.events.schemas import EventState
from iro_kit.events.tracking import CHANGED_KEY, FRESH, Aggregate, Publisher
from iro_kit.events.wiring import EventSpec

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "events"


class ActionState(BaseModel):
    version: int
    action: str
    happened_on: date
    stage: int
    status: str
    stage_due_by: date | None
    outcomes: list[str]
    recorded_by: str


class DisputeState(EventState):
    id: uuid.UUID
    reference: str
    child_id: uuid.UUID
    child_external_id: str
    iro_id: uuid.UUID
    category: str
    themes: list[str]
    raised_on: date
    stage: int
    highest_stage: int
    status: str
    stage_due_by: date | None
    overall_due_by: date
    closed_on: date | None
    outcomes: list[str]
    dispute_version: int
    history: list[ActionState]


CATALOGUE: dict[str, type[EventState]] = {"dispute.changed": DisputeState}


# --- consuming: the read copy -------------------------------------------------------------
#
# Set-based: a batch's events of one type are one `INSERT ... ON CONFLICT (id) DO UPDATE ...
# WHERE copy.version < excluded.version`, after reducing them to the newest version of each
# id. An older or repeated version changes nothing, in the batch or against the copy, and
# two transactions writing one id take turns on its row (PostgreSQL re-checks the WHERE).


def _child_row(event: CloudEvent) -> dict[str, Any]:
    data = event.data
    names = [data.get("given_name"), data.get("family_name")]
    return {
        "id": uuid.UUID(data["id"]),
        "external_id": data["external_id"],
        "name": " ".join(n for n in names if n) or None,
        "date_of_birth": date.fromisoformat(data["date_of_birth"]),
        "deleted": bool(data.get("deleted", False)),
        "version": int(data["version"]),
    }


def _iro_row(event: CloudEvent) -> dict[str, Any]:
    data = event.data
    ended = data.get("in_post_to")
    return {
        "id": uuid.UUID(data["id"]),
        "name": data["name"],
        "in_post_to": date.fromisoformat(ended) if ended else None,
        "version": int(data["version"]),
    }


async def _upsert_newest(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Keep the newest version of each row: an older or repeated one changes nothing."""
    if not rows:
        return
    table = model.__table__

    def newer_only(statement: Any) -> Any:
        return statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={name: statement.excluded[name] for name in rows[0] if name != "id"},
            where=table.c.version < statement.excluded.version,
        )

    await insert_rows(session, table, rows, newer_only)


async def apply_children(session: AsyncSession, events: list[CloudEvent]) -> None:
    latest = newest(events, lambda e: uuid.UUID(e.data["id"]))
    await _upsert_newest(session, ChildCopy, [_child_row(e) for e in latest.values()])


async def apply_iros(session: AsyncSession, events: list[CloudEvent]) -> None:
    latest = newest(events, lambda e: uuid.UUID(e.data["id"]))
    await _upsert_newest(session, IroCopy, [_iro_row(e) for e in latest.values()])


async def apply_child(session: AsyncSession, event: CloudEvent) -> None:
    await apply_children(session, [event])


async def apply_iro(session: AsyncSession, event: CloudEvent) -> None:
    await apply_iros(session, [event])


# --- publishing: dispute.changed ----------------------------------------------------------


def classify(obj: object) -> Iterable[Aggregate]:
    if isinstance(obj, Dispute):
        return [("dispute.changed", obj.id)]
    if isinstance(obj, DisputeAction):
        return [("dispute.changed", obj.dispute_id)]
    return []


def state(session: Session, event_type: str, key: Any) -> dict[str, Any] | None:
    dispute = session.get(Dispute, key, populate_existing=True)
    if event_type != "dispute.changed" or dispute is None:
        return None
    actions = session.scalars(
        select(DisputeAction)
        .where(DisputeAction.dispute_id == key)
        .order_by(DisputeAction.version)
        .execution_options(**FRESH)
    )
    fields = {
        name: getattr(dispute, name) for name in DisputeState.model_fields if hasattr(dispute, name)
    }
    disputed = DisputeState.model_validate(
        {
            **fields,
            "dispute_version": dispute.version,
            "version": 0,
            "history": [ActionState.model_validate(a, from_attributes=True) for a in actions],
        }
    )
    return disputed.model_dump(mode="json", exclude={"version"})


async def snapshot(session: AsyncSession) -> int:
    """Mark every dispute changed: each is published at commit with its current state."""
    ids = list(await session.scalars(select(Dispute.id)))
    session.info.setdefault(CHANGED_KEY, set()).update(("dispute.changed", i) for i in ids)
    return len(ids)


EVENTS = EventSpec(
    tables=EVENT_TABLES,
    handlers={"child.changed": apply_child, "iro.changed": apply_iro},
    batch_handlers={"child.changed": apply_children, "iro.changed": apply_iros},
    snapshot=snapshot,
    publisher=Publisher(classify=classify, state=state),
    catalogue=CATALOGUE,
    schema_dir=SCHEMA_DIR,
)
