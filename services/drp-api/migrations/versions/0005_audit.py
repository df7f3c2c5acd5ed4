"""Audit trail: an append-only record of who read or wrote which child's records.

Revision ID: drp_0005
Revises: drp_0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401

revision: str = "drp_0005"
down_revision: str | None = "drp_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
