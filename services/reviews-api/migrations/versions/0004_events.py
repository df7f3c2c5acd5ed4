"""Events: the outbox, the inbox and the event version counter.

Revision ID: reviews_0004
Revises: reviews_0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

from iro_kit.events.tables import create_event_tables, drop_event_tables

revision: str = "reviews_0004"
down_revision: str | None = "reviews_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_event_tables(op)


def downgrade() -> None:
    drop_event_tables(op)
