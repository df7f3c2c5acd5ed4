"""An import problem names the DfE validation rule it breaks and whether it is an error.

`dfe_rule` is the DfE rule number (e.g. `148`), null for this service's own checks. `severity`
is `error` (the child was held back) or `warning` (reported; the child loaded). Problems
recorded before this revision were all errors.

Revision ID: reviews_0009
Revises: reviews_0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reviews_0009"
down_revision: str | None = "reviews_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("import_problem", sa.Column("dfe_rule", sa.String(length=10), nullable=True))
    op.add_column(
        "import_problem",
        sa.Column("severity", sa.String(length=10), server_default="error", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("import_problem", "severity")  # SQLite 3.35+ drops a column in place
    op.drop_column("import_problem", "dfe_rule")
