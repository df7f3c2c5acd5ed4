"""Import jobs hold a lease with a heartbeat, and keep their files until they end.

- `import_job` gains the lease (`lease_owner`, `lease_expires_at`, `heartbeat_at`), how many
  times it was started (`attempts`), and where a resumed job starts again (`chunks_done`,
  `as_of`, `requested_year_ending`, `tally`).
- `import_upload` keeps the files of a job that has not ended, so that a job whose process died
  can be resumed from its last committed chunk; they are deleted when the job ends.
- A job left `queued` or `running` by an earlier version has no lease: the first start-up
  after this revision finds it expired and marks it failed (its files were never kept).

Revision ID: reviews_0006
Revises: reviews_0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reviews_0006"
down_revision: str | None = "reviews_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_job") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("chunks_done", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("as_of", sa.Date(), nullable=True))
        batch.add_column(sa.Column("requested_year_ending", sa.Date(), nullable=True))
        batch.add_column(sa.Column("tally", sa.JSON(), nullable=True))
    op.create_index("ix_import_job_status", "import_job", ["status"])
    op.create_table(
        "import_upload",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["import_job.id"], name=op.f("fk_import_upload_job_id_import_job")
        ),
        sa.PrimaryKeyConstraint("job_id", "position", name=op.f("pk_import_upload")),
    )


def downgrade() -> None:
    op.drop_table("import_upload")
    op.drop_index("ix_import_job_status", table_name="import_job")
    with op.batch_alter_table("import_job") as batch:
        for column in (
            "tally",
            "requested_year_ending",
            "as_of",
            "chunks_done",
            "attempts",
            "heartbeat_at",
            "lease_expires_at",
            "lease_owner",
        ):
            batch.drop_column(column)
