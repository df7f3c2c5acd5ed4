"""Idempotency responses for every POST.

Revision ID: drp_0004
Revises: drp_0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from iro_kit.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "drp_0004"
down_revision: str | None = "drp_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_idempotency_table(op)


def downgrade() -> None:
    drop_idempotency_table(op)
