"""Disputes, their append-only history (actions) and the yearly reference counter.

Revision ID: drp_0002
Revises: drp_0001
Create Date: 2026-11-26

`dispute_action` refuses UPDATE, DELETE (and, on PostgreSQL, TRUNCATE) with triggers, so the
history stays append-only whatever SQL reaches the database. A later migration that rebuilds
the table on SQLite (batch mode) must create the triggers again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "drp_0002"
down_revision: str | None = "drp_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REFUSAL = "dispute_action is append-only: actions are never changed or deleted"

_POSTGRES_TRIGGERS = (
    f"""
    CREATE FUNCTION dispute_action_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{_REFUSAL}' USING ERRCODE = 'restrict_violation';
    END
    $$
    """,
    """
    CREATE TRIGGER dispute_action_append_only BEFORE UPDATE OR DELETE ON dispute_action
    FOR EACH ROW EXECUTE FUNCTION dispute_action_append_only()
    """,
    """
    CREATE TRIGGER dispute_action_no_truncate BEFORE TRUNCATE ON dispute_action
    FOR EACH STATEMENT EXECUTE FUNCTION dispute_action_append_only()
    """,
)

_SQLITE_TRIGGERS = tuple(
    f"""
    CREATE TRIGGER dispute_action_no_{verb.lower()} BEFORE {verb} ON dispute_action
    BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END
    """
    for verb in ("UPDATE", "DELETE")
)


def _create_append_only_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "dispute",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("child_external_id", sa.String(length=100), nullable=False),
        sa.Column("child_name", sa.String(length=200), nullable=False),
        sa.Column("iro_id", sa.Uuid(), nullable=False),
        sa.Column("iro_name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=10), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        sa.Column("issue", sa.Text(), nullable=False),
        sa.Column("outcome_sought", sa.Text(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("stage_entered_on", sa.Date(), nullable=False),
        sa.Column("stage_due_by", sa.Date(), nullable=True),
        sa.Column("overall_due_by", sa.Date(), nullable=False),
        sa.Column("highest_stage", sa.Integer(), nullable=False),
        sa.Column("last_action_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "stage >= 1 AND highest_stage >= stage", name=op.f("ck_dispute_stage_in_range")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_dispute_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute")),
        sa.UniqueConstraint("reference", name=op.f("uq_dispute_reference")),
    )
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dispute_child_external_id"), ["child_external_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dispute_child_id"), ["child_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispute_iro_id"), ["iro_id"], unique=False)
        batch_op.create_index("ix_dispute_raised_on", ["raised_on"], unique=False)
        batch_op.create_index(
            "ix_dispute_status_stage_due", ["status", "stage_due_by"], unique=False
        )

    op.create_table(
        "reference_counter",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_reference_counter")),
    )
    op.create_table(
        "dispute_action",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dispute_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("stage_due_by", sa.Date(), nullable=True),
        sa.Column("highest_stage", sa.Integer(), nullable=False),
        sa.Column("outcomes", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_name", sa.String(length=200), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["dispute_id"], ["dispute.id"], name=op.f("fk_dispute_action_dispute_id_dispute")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dispute_action")),
        sa.UniqueConstraint("dispute_id", "version", name="uq_dispute_action_dispute_version"),
    )
    with op.batch_alter_table("dispute_action", schema=None) as batch_op:
        batch_op.create_index(
            "ix_dispute_action_happened_on", ["happened_on", "dispute_id"], unique=False
        )

    _create_append_only_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS dispute_action_no_truncate ON dispute_action")
        op.execute("DROP TRIGGER IF EXISTS dispute_action_append_only ON dispute_action")
        op.execute("DROP FUNCTION IF EXISTS dispute_action_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS dispute_action_no_update")
        op.execute("DROP TRIGGER IF EXISTS dispute_action_no_delete")
    with op.batch_alter_table("dispute_action", schema=None) as batch_op:
        batch_op.drop_index("ix_dispute_action_happened_on")

    op.drop_table("dispute_action")
    op.drop_table("reference_counter")
    with op.batch_alter_table("dispute", schema=None) as batch_op:
        batch_op.drop_index("ix_dispute_status_stage_due")
        batch_op.drop_index("ix_dispute_raised_on")
        batch_op.drop_index(batch_op.f("ix_dispute_iro_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_child_id"))
        batch_op.drop_index(batch_op.f("ix_dispute_child_external_id"))

    op.drop_table("dispute")
