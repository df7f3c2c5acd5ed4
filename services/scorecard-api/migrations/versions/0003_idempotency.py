"""Idempotency responses for every POST.

Revision ID: scorecard_0003
Revises: scorecard_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from iro_kit.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "scorecard_0003"
down_revision: str | None = "scorecard_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_table(op)


def downgrade() -> None:
    drop_idempotency_table(op)
