"""The append-only audit trail.

Revision ID: scorecard_0004
Revises: scorecard_0003
Create Date: 2026-12-02

`audit_record` and `audit_record_child` refuse UPDATE, DELETE (and, on PostgreSQL, TRUNCATE)
with triggers, except a purge inside iro_kit.audit_tables.purge's transaction. A later
migration that rebuilds either table on SQLite (batch mode) must create the triggers again
(iro_kit.audit.append_only_ddl).
"""

from collections.abc import Sequence

from alembic import op

from iro_kit.audit import create_audit_tables, drop_audit_tables

revision: str = "scorecard_0004"
down_revision: str | None = "scorecard_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_tables(op)


def downgrade() -> None:
    drop_audit_tables(op)
