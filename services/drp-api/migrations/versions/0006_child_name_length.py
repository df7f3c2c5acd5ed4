"""A dispute's child name holds a whole name from reviews-api: given and family names of up to
200 characters each, with a space between (401), as the read copy of children already does.

Revision ID: drp_0006
Revises: drp_0005
Create Date: 2026-12-03

SQLite does not enforce a VARCHAR's length, so only PostgreSQL's column changes: rebuilding
`dispute` on SQLite (batch mode) would gain nothing and put its actions' rows at risk.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "drp_0006"
down_revision: str | None = "drp_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("dispute", "child_name", type_=sa.String(401), existing_type=sa.String(200))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("dispute", "child_name", type_=sa.String(200), existing_type=sa.String(401))
