"""Idempotency-Key on every POST: the first response, replayed on a retry.

Revision ID: drp_0004
Revises: drp_0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401

revision: str = "drp_0004"
down_revision: str | None = "drp_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
