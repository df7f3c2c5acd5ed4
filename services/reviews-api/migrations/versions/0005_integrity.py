"""Integrity: one record per event, idempotency responses for every POST, the rules fingerprint.

- Duplicates already stored (double submits before this revision) are resolved first, each
  soft-deleted with a reason naming the record kept, so the partial unique indexes can be built:
  one held review per child and day, one open booking per child, one visit of each kind per
  child and day, one open allocation per child (an earlier open one is closed the day before
  the next starts).
- `idempotency_record` (the integration route's own) gives way to `idempotency_response`,
  shared by every POST (iro_kit.idempotency). Keys live 48 hours, so none worth keeping is lost.
- `schedule_rules_state` holds the fingerprint of the rules the stored chains were computed
  under. It starts empty, so the first start-up after this revision recomputes every chain,
  which also brings chains with a resolved duplicate up to date.

Revision ID: reviews_0005
Revises: reviews_0004
Create Date: 2026-12-02
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from alembic import op

from iro_kit.idempotency import create_idempotency_table, drop_idempotency_table

revision: str = "reviews_0005"
down_revision: str | None = "reviews_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY = "migration reviews_0005"


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _uuid(value: Any) -> str:
    """The id as the API shows it (SQLite stores it as 32 hex digits)."""
    return str(uuid.UUID(str(value)))


def _soft_delete(table: str, keep: Any, duplicates: list[Any], what: str) -> None:
    bind = op.get_bind()
    statement = sa.text(
        f"UPDATE {table} SET deleted_at = :now, deleted_by = :by, deletion_reason = :reason "  # noqa: S608 - fixed names
        "WHERE id = :id"
    )
    for duplicate in duplicates:
        bind.execute(
            statement,
            {
                "now": datetime.now(UTC),
                "by": BY,
                "reason": f"duplicate of {what} {_uuid(keep)} (a double submit, resolved by {BY})",
                "id": duplicate,
            },
        )


def _resolve(table: str, key_columns: str, where: str, what: str) -> None:
    """Keep the first-created record of each key; soft-delete the rest."""
    rows = op.get_bind().execute(
        sa.text(
            f"SELECT id, {key_columns} FROM {table} "  # noqa: S608 - fixed names
            f"WHERE deleted_at IS NULL AND {where} ORDER BY created_at, id"
        )
    )
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[1:])].append(row[0])
    for ids in groups.values():
        if len(ids) > 1:
            _soft_delete(table, ids[0], ids[1:], what)


def _close_extra_open_allocations() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, child_id, from_on FROM allocation "
            "WHERE deleted_at IS NULL AND to_on IS NULL ORDER BY child_id, from_on, created_at, id"
        )
    )
    by_child: dict[Any, list[tuple[Any, date]]] = defaultdict(list)
    for allocation_id, child_id, from_on in rows:
        by_child[child_id].append((allocation_id, _day(from_on)))
    for allocations in by_child.values():
        kept: list[tuple[Any, date]] = []
        for allocation_id, from_on in allocations:  # by from_on, then first created
            if kept and kept[-1][1] == from_on:  # two from one day: the second is a double submit
                _soft_delete("allocation", kept[-1][0], [allocation_id], "allocation")
                continue
            kept.append((allocation_id, from_on))
        # Several open from different days: each ran until the next began, as allocate() does.
        for (earlier, _), (_, later_from) in pairwise(kept):
            bind.execute(
                sa.text("UPDATE allocation SET to_on = :to_on WHERE id = :id"),
                {"to_on": later_from - timedelta(days=1), "id": earlier},
            )


def _partial_unique(name: str, table: str, columns: list[str], where: str) -> None:
    op.create_index(
        name,
        table,
        columns,
        unique=True,
        postgresql_where=sa.text(where),
        sqlite_where=sa.text(where),
    )


def upgrade() -> None:
    op.drop_table("idempotency_record")
    create_idempotency_table(op)

    _resolve("review", "child_id, held_on", "held_on IS NOT NULL", "review")
    _resolve("review", "child_id", "held_on IS NULL", "booked review")
    _resolve("visit", "child_id, kind, visited_on", "1 = 1", "visit")
    _close_extra_open_allocations()
    _partial_unique(
        "uq_review_held_per_child_day",
        "review",
        ["child_id", "held_on"],
        "held_on IS NOT NULL AND deleted_at IS NULL",
    )
    _partial_unique(
        "uq_review_booked_per_child",
        "review",
        ["child_id"],
        "held_on IS NULL AND deleted_at IS NULL",
    )
    _partial_unique(
        "uq_visit_per_child_kind_day",
        "visit",
        ["child_id", "kind", "visited_on"],
        "deleted_at IS NULL",
    )
    _partial_unique(
        "uq_allocation_open_per_child",
        "allocation",
        ["child_id"],
        "to_on IS NULL AND deleted_at IS NULL",
    )
    op.create_table(
        "schedule_rules_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("recomputed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_rules_state")),
    )


def downgrade() -> None:
    op.drop_table("schedule_rules_state")
    for name, table in (
        ("uq_allocation_open_per_child", "allocation"),
        ("uq_visit_per_child_kind_day", "visit"),
        ("uq_review_booked_per_child", "review"),
        ("uq_review_held_per_child_day", "review"),
    ):
        op.drop_index(name, table_name=table)
    drop_idempotency_table(op)
    op.create_table(
        "idempotency_record",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("subject", "route", "key", name=op.f("uq_idempotency_record_subject")),
    )
