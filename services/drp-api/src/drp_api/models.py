"""The drp-api schema: disputes, their append-only history, and the reference counter.

A dispute row holds its current state; `dispute_action` holds every action ever taken on it,
each with the state it left the dispute in, so a past day's tracker or statistics read the
state as it was then. Actions are never updated or deleted: the mapper refuses it here, and
database triggers (migration drp_0002) refuse it for any SQL.

The child and the IRO are kept in their own columns as the request gave them, until drp-api
has a local copy of reviews-api's children and IROs (see `drp_api.people`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from iro_kit.audit import audit_table
from iro_kit.db import KitBase, new_metadata
from iro_kit.events.tables import event_tables
from iro_kit.idempotency import idempotency_table


class Base(KitBase):
    __abstract__ = True
    metadata = new_metadata()


def _now() -> datetime:
    return datetime.now(UTC)


class Dispute(Base):
    __tablename__ = "dispute"
    __table_args__ = (
        CheckConstraint("stage >= 1 AND highest_stage >= stage", name="stage_in_range"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_dispute_status_stage_due", "status", "stage_due_by"),
        Index("ix_dispute_raised_on", "raised_on"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    child_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    child_external_id: Mapped[str] = mapped_column(String(100), index=True)
    # A whole name from reviews-api: given and family names of up to 200 each (migration 0006).
    child_name: Mapped[str] = mapped_column(String(401))
    iro_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    iro_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(10))
    themes: Mapped[list[str]] = mapped_column(JSON)
    issue: Mapped[str] = mapped_column(Text)
    outcome_sought: Mapped[str] = mapped_column(Text)
    raised_on: Mapped[date] = mapped_column(Date)
    # The current state (drp_api.disputes.lifecycle.DisputeState).
    stage: Mapped[int]
    status: Mapped[str] = mapped_column(String(30))
    stage_entered_on: Mapped[date] = mapped_column(Date)
    stage_due_by: Mapped[date | None] = mapped_column(Date)
    overall_due_by: Mapped[date] = mapped_column(Date)
    highest_stage: Mapped[int]
    last_action_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    outcomes: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )


class DisputeAction(Base):
    """One action on a dispute, with who recorded it, when it happened and what it said."""

    __tablename__ = "dispute_action"
    __table_args__ = (
        UniqueConstraint("dispute_id", "version", name="uq_dispute_action_dispute_version"),
        Index("ix_dispute_action_happened_on", "happened_on", "dispute_id"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    dispute_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dispute.id"))
    version: Mapped[int]  # the dispute's version this action produced
    action: Mapped[str] = mapped_column(String(30))
    happened_on: Mapped[date] = mapped_column(Date)
    # The state the action left the dispute in.
    stage: Mapped[int]
    status: Mapped[str] = mapped_column(String(30))
    stage_due_by: Mapped[date | None] = mapped_column(Date)
    highest_stage: Mapped[int]
    outcomes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What the request said: who was asked, the response, the reason, the summary...
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_by_name: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )


class ReferenceCounter(Base):
    """The last sequence number given in a year: `DRP-2017-0042` is 2017's 42nd dispute."""

    __tablename__ = "reference_counter"
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_sequence: Mapped[int]


class HistoryIsAppendOnly(RuntimeError):
    """Raised on any attempt to change or remove a recorded action."""


@event.listens_for(DisputeAction, "before_update")
def _refuse_update(*_: object) -> None:
    raise HistoryIsAppendOnly("A dispute's history is append-only: actions are never changed.")


@event.listens_for(DisputeAction, "before_delete")
def _refuse_delete(*_: object) -> None:
    raise HistoryIsAppendOnly("A dispute's history is append-only: actions are never deleted.")


class ChildCopy(Base):
    """reviews-api's child, as its latest `child.changed` event said (a read copy)."""

    __tablename__ = "child_copy"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(100), index=True)
    name: Mapped[str | None] = mapped_column(String(401))
    date_of_birth: Mapped[date]
    deleted: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int]


class IroCopy(Base):
    """reviews-api's IRO, as its latest `iro.changed` event said (a read copy)."""

    __tablename__ = "iro_copy"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    in_post_to: Mapped[date | None]
    version: Mapped[int]


EVENT_TABLES = event_tables(Base.metadata)
IDEMPOTENCY_TABLE = idempotency_table(Base.metadata)

# Append-only by database triggers (migration: iro_kit.audit.create_audit_tables).
AUDIT_TABLE = audit_table(Base.metadata)
