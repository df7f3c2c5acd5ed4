"""Audit trail: an append-only record of who read or wrote which child's records.

Revision ID: scorecard_0004
Revises: scorecard_0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401

revision: str = "scorecard_0004"
down_revision: str | None = "scorecard_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
