"""Events: outbox, inbox and version counter; the read copy of reviews-api's children and IROs.

Revision ID: drp_0003
Revises: drp_0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from iro_kit.events.tables import create_event_tables, drop_event_tables

revision: str = "drp_0003"
down_revision: str | None = "drp_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_event_tables(op)
    op.create_table(
        "child_copy",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=401), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_copy")),
    )
    op.create_index(op.f("ix_child_copy_external_id"), "child_copy", ["external_id"])
    op.create_table(
        "iro_copy",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("in_post_to", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iro_copy")),
    )


def downgrade() -> None:
    op.drop_table("iro_copy")
    op.drop_index(op.f("ix_child_copy_external_id"), table_name="child_copy")
    op.drop_table("child_copy")
    drop_event_tables(op)
