"""Idempotency-Key on every POST: the first response, replayed on a retry.

Revision ID: scorecard_0003
Revises: scorecard_0002
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401

revision: str = "scorecard_0003"
down_revision: str | None = "scorecard_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
