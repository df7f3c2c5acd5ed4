"""The reviews-api schema. One module: the tables are few and refer to each other.

Records that users can correct are soft-deleted (a mistaken record): `deleted_at`, `deleted_by`
and `deletion_reason` say who removed it and why, and every read leaves them out.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
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


def _unique_where(name: str, *columns: str, where: str) -> Index:
    """A partial unique index, alike on PostgreSQL and SQLite: the invariant holds even if a bug
    or a race got past the service's own checks."""
    return Index(
        name, *columns, unique=True, postgresql_where=text(where), sqlite_where=text(where)
    )


class Timestamps:
    # Set in Python, so they are known after a flush without another round trip.
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now(), onupdate=_now
    )


class SoftDeleted:
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str | None] = mapped_column(String(200))
    deletion_reason: Mapped[str | None] = mapped_column(Text)


class Child(Timestamps, Base):
    __tablename__ = "child"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    external_id: Mapped[str] = mapped_column(String(100), unique=True)
    # Null when the source has no names: an SSDA903 return carries none.
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(default=1)

    @property
    def display_name(self) -> str:
        return display_name(self.external_id, self.given_name, self.family_name)


def display_name(external_id: str, given_name: str | None, family_name: str | None) -> str:
    """A child's name for lists and letters; the case system's id when no name is known."""
    return " ".join(p for p in (given_name, family_name) if p) or f"Child {external_id}"


class Episode(Timestamps, SoftDeleted, Base):
    __tablename__ = "episode"
    __table_args__ = (
        CheckConstraint("end_on IS NULL OR end_on >= start_on", name="ends_after_start"),
        Index("ix_episode_child_start", "child_id", "start_on"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    reason_new_episode: Mapped[str] = mapped_column(String(2))
    legal_status: Mapped[str] = mapped_column(String(2))
    placement: Mapped[str | None] = mapped_column(String(3))
    reason_ended: Mapped[str | None] = mapped_column(String(3))
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))


class Iro(Timestamps, Base):
    __tablename__ = "iro"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    fte: Mapped[Decimal] = mapped_column(Numeric(3, 2))
    in_post_from: Mapped[date] = mapped_column(Date)
    in_post_to: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(default=1)


class Allocation(Timestamps, SoftDeleted, Base):
    __tablename__ = "allocation"
    __table_args__ = (
        Index("ix_allocation_iro_dates", "iro_id", "from_on", "to_on"),
        Index("ix_allocation_child", "child_id", "from_on"),
        # At most one open allocation per child, whatever a bug or a race might try.
        _unique_where(
            "uq_allocation_open_per_child", "child_id", where="to_on IS NULL AND deleted_at IS NULL"
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    iro_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("iro.id"))
    from_on: Mapped[date] = mapped_column(Date)
    to_on: Mapped[date | None] = mapped_column(Date)  # the last day of the allocation
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))


class Review(Timestamps, SoftDeleted, Base):
    __tablename__ = "review"
    __table_args__ = (
        CheckConstraint("held_on IS NOT NULL OR scheduled_for IS NOT NULL", name="held_or_booked"),
        Index("ix_review_child_held", "child_id", "held_on"),
        # At most one held review per child and day, and one open booking per child.
        _unique_where(
            "uq_review_held_per_child_day",
            "child_id",
            "held_on",
            where="held_on IS NOT NULL AND deleted_at IS NULL",
        ),
        _unique_where(
            "uq_review_booked_per_child", "child_id", where="held_on IS NULL AND deleted_at IS NULL"
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    scheduled_for: Mapped[date | None] = mapped_column(Date)
    held_on: Mapped[date | None] = mapped_column(Date)
    series_started_on: Mapped[date | None] = mapped_column(Date)
    participation_code: Mapped[str | None] = mapped_column(String(3))
    views_method: Mapped[str | None] = mapped_column(String(30))
    late_reason: Mapped[str | None] = mapped_column(String(40))
    late_reason_text: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    # As computed by the schedule when recorded, and recomputed when an earlier record changes.
    period_started_on: Mapped[date | None] = mapped_column(Date)
    sequence: Mapped[str | None] = mapped_column(String(20))
    due_by: Mapped[date | None] = mapped_column(Date)
    in_timescale: Mapped[bool | None]
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)


class Visit(Timestamps, SoftDeleted, Base):
    __tablename__ = "visit"
    __table_args__ = (
        Index("ix_visit_child_on", "child_id", "visited_on"),
        # At most one visit of each kind per child and day.
        _unique_where(
            "uq_visit_per_child_kind_day",
            "child_id",
            "kind",
            "visited_on",
            where="deleted_at IS NULL",
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    kind: Mapped[str] = mapped_column(String(20))  # pre_review | midway
    visited_on: Mapped[date] = mapped_column(Date)
    iro_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("iro.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)


class SecurePlacement(Timestamps, SoftDeleted, Base):
    __tablename__ = "secure_placement"
    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ends_after_start"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"), index=True)
    started_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))


class SecureReview(Timestamps, SoftDeleted, Base):
    __tablename__ = "secure_review"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    placement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("secure_placement.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    panel: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    due_by: Mapped[date] = mapped_column(Date)
    in_timescale: Mapped[bool]
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)


class PlanDate(Base):
    """One dated event of a child's plans (care plan updated, PEP reviewed...): history rows,
    never overwritten, so the latest on or before any past day can be replayed."""

    __tablename__ = "plan_date"
    __table_args__ = (UniqueConstraint("child_id", "kind", "dated_on"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    kind: Mapped[str] = mapped_column(String(40))
    dated_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40))  # integration | ssda903
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )


class AnnualOutcome(Timestamps, Base):
    """A child's SSDA903 OC2 row for one collection year (flags as the DfE writes them)."""

    __tablename__ = "annual_outcome"
    __table_args__ = (UniqueConstraint("child_id", "year_ending"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    child_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("child.id"))
    year_ending: Mapped[date] = mapped_column(Date)  # 31 March of the collection year
    sdq_score: Mapped[int | None]
    sdq_reason: Mapped[str | None] = mapped_column(String(4))
    convicted: Mapped[bool | None]
    health_check: Mapped[bool | None]
    immunisations: Mapped[bool | None]
    teeth_check: Mapped[bool | None]
    health_assessment: Mapped[bool | None]
    substance_misuse: Mapped[bool | None]
    intervention_received: Mapped[bool | None]
    intervention_offered: Mapped[bool | None]


class ScheduleRulesState(Base):
    """The fingerprint of the schedule rules the stored chains were computed under (one row).

    When the rules in force differ at start-up, every child's chain is recomputed before the
    service serves (reviews_api.rules_state)."""

    __tablename__ = "schedule_rules_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict[str, object]] = mapped_column(JSON)
    recomputed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ImportJob(Base):
    """One import of case-system files, run in the background; progress and summary."""

    __tablename__ = "import_job"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))  # ssda903
    status: Mapped[str] = mapped_column(String(20))  # queued | running | finished | failed
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=_now, server_default=func.now()
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    year_ending: Mapped[date | None] = mapped_column(Date)
    rows_read: Mapped[int] = mapped_column(default=0)
    children_total: Mapped[int] = mapped_column(default=0)
    children_done: Mapped[int] = mapped_column(default=0)
    children_loaded: Mapped[int] = mapped_column(default=0)
    children_rejected: Mapped[int] = mapped_column(default=0)
    problem_count: Mapped[int] = mapped_column(default=0)
    files: Mapped[list[dict[str, object]]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, object] | None] = mapped_column(JSON)
    failure: Mapped[str | None] = mapped_column(Text)
    # The lease (reviews_api.imports.leases): who runs the job, until when, renewed by a
    # heartbeat; an expired lease is reclaimed at start-up and periodically.
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Where a resumed job starts: chunks committed (None: the return not read yet), the day the
    # job reads the return as of, the collection year asked for, and the tally so far.
    chunks_done: Mapped[int | None]
    as_of: Mapped[date | None] = mapped_column(Date)
    requested_year_ending: Mapped[date | None] = mapped_column(Date)
    tally: Mapped[dict[str, object] | None] = mapped_column(JSON)


class ImportUpload(Base):
    """A file of an import job's return, kept until the job ends so that it can be resumed."""

    __tablename__ = "import_upload"
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_job.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes]


class ImportProblem(Base):
    """One problem found in an import: `{file, line, child, field, code, dfe_rule, message}`,
    an `error` (its child held back) or a `warning` (reported, the child loaded)."""

    __tablename__ = "import_problem"
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_job.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    file: Mapped[str | None] = mapped_column(String(300))
    line: Mapped[int | None]
    child: Mapped[str | None] = mapped_column(String(100))
    field: Mapped[str | None] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(60))
    message: Mapped[str] = mapped_column(Text)
    dfe_rule: Mapped[str | None] = mapped_column(String(10))
    severity: Mapped[str] = mapped_column(String(10), server_default="error")


EVENT_TABLES = event_tables(Base.metadata)
IDEMPOTENCY_TABLE = idempotency_table(Base.metadata)

# Append-only by database triggers (migration: iro_kit.audit.create_audit_tables).
AUDIT_TABLE = audit_table(Base.metadata)
