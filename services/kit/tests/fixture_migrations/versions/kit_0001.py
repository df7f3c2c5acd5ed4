"""A one-table schema for the kit's own tests.

Revision ID: kit_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "kit_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "note",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(50), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table("note")
