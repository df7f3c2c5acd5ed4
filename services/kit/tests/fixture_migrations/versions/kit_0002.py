"""Events for the kit's probe service: outbox, inbox, and a projection a consumer keeps.

Revision ID: kit_0002
Revises: kit_0001
"""

import sqlalchemy as sa
from alembic import op

from iro_kit.events.tables import create_event_tables, drop_event_tables

revision = "kit_0002"
down_revision = "kit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_event_tables(op)
    op.create_table(
        "note_copy",
        sa.Column("subject", sa.String(100), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("label", sa.String(50), nullable=False),
        sa.Column("applied", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("note_copy")
    drop_event_tables(op)
