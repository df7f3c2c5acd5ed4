"""Audit trail: an append-only record of who read or wrote which child's records.

Revision ID: reviews_0007
Revises: reviews_0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401

revision: str = "reviews_0007"
down_revision: str | None = "reviews_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
