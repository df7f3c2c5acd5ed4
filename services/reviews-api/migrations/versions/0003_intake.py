"""Intake from case systems: plan dates, OC2 outcomes, idempotency records, import jobs and
their problems; a child's names become optional (an SSDA903 return carries none).

Revision ID: reviews_0003
Revises: reviews_0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reviews_0003"
down_revision: str | None = "reviews_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("subject", "route", "key", name=op.f("uq_idempotency_record_subject")),
    )
    op.create_table(
        "import_job",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("year_ending", sa.Date(), nullable=True),
        sa.Column("rows_read", sa.Integer(), nullable=False),
        sa.Column("children_total", sa.Integer(), nullable=False),
        sa.Column("children_done", sa.Integer(), nullable=False),
        sa.Column("children_loaded", sa.Integer(), nullable=False),
        sa.Column("children_rejected", sa.Integer(), nullable=False),
        sa.Column("problem_count", sa.Integer(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_job")),
    )
    op.create_table(
        "annual_outcome",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("year_ending", sa.Date(), nullable=False),
        sa.Column("sdq_score", sa.Integer(), nullable=True),
        sa.Column("sdq_reason", sa.String(length=4), nullable=True),
        sa.Column("convicted", sa.Boolean(), nullable=True),
        sa.Column("health_check", sa.Boolean(), nullable=True),
        sa.Column("immunisations", sa.Boolean(), nullable=True),
        sa.Column("teeth_check", sa.Boolean(), nullable=True),
        sa.Column("health_assessment", sa.Boolean(), nullable=True),
        sa.Column("substance_misuse", sa.Boolean(), nullable=True),
        sa.Column("intervention_received", sa.Boolean(), nullable=True),
        sa.Column("intervention_offered", sa.Boolean(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_annual_outcome_child_id_child")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_outcome")),
        sa.UniqueConstraint("child_id", "year_ending", name=op.f("uq_annual_outcome_child_id")),
    )
    op.create_table(
        "import_problem",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("file", sa.String(length=300), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("child", sa.String(length=100), nullable=True),
        sa.Column("field", sa.String(length=40), nullable=True),
        sa.Column("code", sa.String(length=60), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_import_problem_job_id_import_job")
        ),
        sa.PrimaryKeyConstraint("job_id", "position", name=op.f("pk_import_problem")),
    )
    op.create_table(
        "plan_date",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("child_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("dated_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["child_id"], ["child.id"], name=op.f("fk_plan_date_child_id_child")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_date")),
        sa.UniqueConstraint("child_id", "kind", "dated_on", name=op.f("uq_plan_date_child_id")),
    )
    _names_nullable(True)


def downgrade() -> None:
    _names_nullable(False)
    op.drop_table("plan_date")
    op.drop_table("import_problem")
    op.drop_table("annual_outcome")
    op.drop_table("import_job")
    op.drop_table("idempotency_record")


def _names_nullable(nullable: bool) -> None:
    # SQLite rebuilds the table to change a column: with foreign keys enforced, dropping the old
    # `child` table would fail while episodes refer to it. The pragma takes effect here because
    # nothing has written in this migration's transaction yet (it is a no-op otherwise, and then
    # the database is one being built from empty, where nothing refers to a child).
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys=OFF")
    with op.batch_alter_table("child", schema=None) as batch_op:
        for column in ("given_name", "family_name"):
            batch_op.alter_column(column, existing_type=sa.VARCHAR(length=200), nullable=nullable)
    if sqlite:
        op.execute("PRAGMA foreign_keys=ON")
