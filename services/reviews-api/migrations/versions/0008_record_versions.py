"""Episodes, allocations and secure placements carry a version, as the other records do.

The version is the record's ETag: a change or deletion needs If-Match naming it (412 when the
record has changed since it was read). Rows recorded before this revision start at version 1.

Revision ID: reviews_0008
Revises: reviews_0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reviews_0008"
down_revision: str | None = "reviews_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("episode", "allocation", "secure_placement")


def upgrade() -> None:
    # A plain ADD COLUMN on SQLite too (no batch rebuild): the tables keep their partial
    # unique indexes and CHECK constraints as they are.
    for table in _TABLES:
        op.add_column(
            table,
            sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "version")  # SQLite 3.35+ drops a column in place
