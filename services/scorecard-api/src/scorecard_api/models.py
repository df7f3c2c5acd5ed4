"""scorecard-api's tables: read models projected from the other services' events, and targets.

Projections are plain tables (Core, not ORM objects): each event replaces the rows of its
aggregate, and every figure is a query over them as at a date. `projection_version` keeps the
newest version applied per aggregate, so an older or repeated event changes nothing. Rebuilding
empties every projection table (`PROJECTIONS`) and asks the producers to republish.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
)

from iro_kit.audit import audit_table
from iro_kit.db import KitBase, new_metadata
from iro_kit.events.tables import event_tables
from iro_kit.idempotency import idempotency_table


class Base(KitBase):
    __abstract__ = True
    metadata = new_metadata()


metadata = Base.metadata
EVENT_TABLES = event_tables(metadata)
IDEMPOTENCY_TABLE = idempotency_table(Base.metadata)

projection_version = Table(
    "projection_version",
    metadata,
    Column("event_type", String(100), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("version", BigInteger, nullable=False),
    PrimaryKeyConstraint("event_type", "subject"),
)

# The newest event applied from each producer: how complete the facts are.
producer_progress = Table(
    "producer_progress",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("last_event_at", DateTime(timezone=True), nullable=True),
    Column("last_version", BigInteger, nullable=False),
    Column("events_applied", BigInteger, nullable=False),
)

child = Table(
    "child",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("external_id", String(100), nullable=False),
    Column("name", String(401)),
    Column("date_of_birth", Date, nullable=False),
)

episode = Table(
    "episode",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("child_id", Uuid, nullable=False, index=True),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date),  # the 903 DEC: the first day no longer looked after
    Column("legal_status", String(2), nullable=False),
    Column("reason_new_episode", String(1)),
    Column("period_start_on", Date, nullable=False),
    Index("ix_episode_on", "start_on", "end_on"),
)

review = Table(
    "review",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("child_id", Uuid, nullable=False),
    Column("held_on", Date),
    Column("due_by", Date),
    Column("sequence", String(20)),
    Column("in_timescale", Boolean),
    Column("participation_code", String(3)),
    Column("views_method", String(30)),
    Column("late_reason", String(40)),
    Index("ix_review_child_held", "child_id", "held_on"),
    Index("ix_review_held", "held_on"),
)

# Every review that fell or falls due in a period of care, in order: the held ones with the
# due date they were held against, and the one after the last held (not held yet). Worked out
# from the episodes and held reviews with the kit's schedule, whenever either changes.
review_due = Table(
    "review_due",
    metadata,
    Column("child_id", Uuid, nullable=False),
    Column("period_start_on", Date, nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("sequence", String(20), nullable=False),
    Column("anchor_on", Date, nullable=False),  # period start, or the previous review held
    Column("due_by", Date, nullable=False),
    Column("held_on", Date),
    Column("review_id", Uuid),
    Column("status_on_due", String(2)),  # legal status on the due date; null: not looked after
    # Worked out here so the scorecard can count in SQL: the last day a pre-review visit counts
    # for a held review (5 working days before it), and the midway point after a review.
    Column("visit_by", Date),
    Column("midpoint_on", Date),
    PrimaryKeyConstraint("child_id", "period_start_on", "ordinal"),
    Index("ix_review_due_by", "due_by"),
    Index("ix_review_due_held", "held_on"),
)

visit = Table(
    "visit",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("child_id", Uuid, nullable=False),
    Column("kind", String(20), nullable=False),  # pre_review | midway
    Column("visited_on", Date, nullable=False),
    Column("iro_id", Uuid),
    Index("ix_visit_child_kind_on", "child_id", "kind", "visited_on"),
    Index("ix_visit_kind_on", "kind", "visited_on"),
)

plan_date = Table(
    "plan_date",
    metadata,
    Column("child_id", Uuid, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("dated_on", Date, nullable=False),
    PrimaryKeyConstraint("child_id", "kind", "dated_on"),
    Index("ix_plan_date_kind_on", "kind", "dated_on"),
)

iro = Table(
    "iro",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("fte", Float, nullable=False),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date),  # the last day in post
)

allocation = Table(
    "allocation",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("child_id", Uuid, nullable=False, index=True),
    Column("iro_id", Uuid, nullable=False),
    Column("start_on", Date, nullable=False),
    Column("end_on", Date),  # the last day allocated
    Index("ix_allocation_on", "start_on", "end_on"),
)

secure_review = Table(
    "secure_review",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("child_id", Uuid, nullable=False),
    Column("placement_id", Uuid, nullable=False),
    Column("held_on", Date, nullable=False),
    Column("due_by", Date, nullable=False),
    Column("in_timescale", Boolean, nullable=False),
    Column("panel_size", Integer, nullable=False),
    Column("independent_members", Integer, nullable=False),
)

dispute = Table(
    "dispute",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("reference", String(40), nullable=False),
    Column("child_id", Uuid, nullable=False),
    Column("iro_id", Uuid, nullable=False),
    Column("category", String(10), nullable=False),  # lac | cp
    Column("themes", JSON, nullable=False),
    Column("raised_on", Date, nullable=False),
    Column("overall_due_by", Date, nullable=False),
    Index("ix_dispute_raised", "raised_on"),
)

# A dispute's history: the stage and status after each action, on the day it happened.
dispute_action = Table(
    "dispute_action",
    metadata,
    Column("dispute_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", String(30), nullable=False),
    Column("happened_on", Date, nullable=False),
    Column("stage", Integer, nullable=False),
    Column("status", String(30), nullable=False),
    Column("stage_due_by", Date),
    PrimaryKeyConstraint("dispute_id", "version"),
)

target = Table(
    "target",
    metadata,
    Column("code", String(60), primary_key=True),
    Column("target", Float),
    Column("direction", String(10), nullable=False),
    Column("amber_tolerance", Float, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Every change of a target: who, when, and the values before and after. Never updated.
target_change = Table(
    "target_change",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("code", String(60), nullable=False, index=True),
    Column("changed_by", String(200), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("old", JSON),
    Column("new", JSON, nullable=False),
    Column("note", Text),
)

# Emptied by a rebuild; the producers' republished events fill them again.
PROJECTIONS = (
    projection_version,
    producer_progress,
    child,
    episode,
    review,
    review_due,
    visit,
    plan_date,
    iro,
    allocation,
    secure_review,
    dispute,
    dispute_action,
)

# Append-only by database triggers (migration: iro_kit.audit.create_audit_tables).
AUDIT_TABLE = audit_table(Base.metadata)
