"""The audit trail's tables: append-only by database triggers, purged through one permit.

`audit_record` holds one row per audited request; `audit_record_child` one row per child it
named. Triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on both, whatever SQL
reaches the database, as for `dispute_action`. The only way past them is `purge()`: in its
own transaction it grants a permit, `set_config('iro.audit_purge_before', <cutoff>, true)` on
PostgreSQL (transaction-local: it ends with the transaction) or a row of `audit_purge_permit`
on SQLite (inserted and deleted in that transaction, so no other connection ever sees it),
and the triggers let through only the deletion of records older than the permit's cutoff.
Each purge that removes anything writes an `audit.purge` record of its own.

Hardening beyond this (the application cannot get past a trigger by accident, but the table
owner could drop it): run migrations as an owner role and the service as a role granted
INSERT and SELECT only on these tables.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import JSON as JSONType
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    delete,
    insert,
    text,
)

from iro_kit.logging import get_logger

RECORD_TABLE = "audit_record"
CHILD_TABLE = "audit_record_child"
PERMIT_TABLE = "audit_purge_permit"  # SQLite only
PURGE_SETTING = "iro.audit_purge_before"  # PostgreSQL only
PURGE_ACTION = "audit.purge"
_REFUSAL = "audit records are append-only: they are never changed or deleted"
_log = get_logger("iro_kit.audit")


# -- tables ---------------------------------------------------------------------------------


def _record_columns() -> list[Column[Any]]:
    return [
        Column("id", Uuid, nullable=False),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("roles", String(200), nullable=False),  # comma-separated, sorted
        Column("action", String(40), nullable=False),  # read, create, update, delete, audit.purge
        Column("method", String(10), nullable=True),  # null for the service's own housekeeping
        Column("route", String(300), nullable=True),  # the template, never raw ids
        Column("resource_type", String(50), nullable=True),
        Column("resource_id", String(100), nullable=True),
        Column("request_id", String(128), nullable=True),
        Column("status", Integer, nullable=True),
        Column("detail", JSONType, nullable=True),  # a purge's count and cutoff
    ]


def _child_columns() -> list[Column[Any]]:
    return [
        Column("audit_id", Uuid, nullable=False),
        Column("child_id", Uuid, nullable=False),
        # The record's time again: "who saw this child" is one index range, and the purge
        # triggers need no join.
        Column("at", DateTime(timezone=True), nullable=False),
    ]


def _record_constraints() -> list[Any]:
    return [
        PrimaryKeyConstraint("id", name="pk_audit_record"),
        Index("ix_audit_record_at", "at"),
        Index("ix_audit_record_subject_at", "subject", "at"),
    ]


def _child_constraints() -> list[Any]:
    return [
        PrimaryKeyConstraint("audit_id", "child_id", name="pk_audit_record_child"),
        ForeignKeyConstraint(
            ["audit_id"], [f"{RECORD_TABLE}.id"], name="fk_audit_record_child_audit_id_audit_record"
        ),
        Index("ix_audit_record_child_child_id_at", "child_id", "at"),
    ]


def audit_table(metadata: MetaData) -> Table:
    """Define the service's audit tables in `metadata`; returns `audit_record` (for
    ServiceSpec.audit). Its children table is `child_table(record)`."""
    record = Table(RECORD_TABLE, metadata, *_record_columns(), *_record_constraints())
    Table(CHILD_TABLE, metadata, *_child_columns(), *_child_constraints())
    return record


def child_table(record: Table) -> Table:
    return record.metadata.tables[CHILD_TABLE]


_PERMIT = Table(
    PERMIT_TABLE,
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("purge_before", DateTime(timezone=True), nullable=False),
    CheckConstraint("id = 1", name="ck_audit_purge_permit_one_row"),
)


def append_only_ddl(dialect: str) -> list[str]:
    """The triggers that refuse UPDATE and DELETE on both tables, except a permitted purge."""
    if dialect == "postgresql":
        return [
            f"""
            CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            DECLARE
                purge_before text := current_setting('{PURGE_SETTING}', true);
            BEGIN
                IF TG_OP = 'DELETE' AND coalesce(purge_before, '') <> '' THEN
                    IF OLD.at < purge_before::timestamptz THEN
                        RETURN OLD;
                    END IF;
                END IF;
                RAISE EXCEPTION USING
                    MESSAGE = TG_TABLE_NAME || ': {_REFUSAL}',
                    ERRCODE = 'restrict_violation';
            END
            $$
            """,
            *(
                f"""
                CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION audit_append_only()
                """
                for table in (RECORD_TABLE, CHILD_TABLE)
            ),
            *(
                f"""
                CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()
                """
                for table in (RECORD_TABLE, CHILD_TABLE)
            ),
        ]
    statements = []
    for table in (RECORD_TABLE, CHILD_TABLE):
        statements.append(
            f"""
            CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, '{table}: {_REFUSAL}'); END
            """
        )
        statements.append(
            f"""
            CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            WHEN NOT EXISTS (
                SELECT 1 FROM {PERMIT_TABLE} WHERE OLD.at < {PERMIT_TABLE}.purge_before
            )
            BEGIN SELECT RAISE(ABORT, '{table}: {_REFUSAL}'); END
            """  # noqa: S608 (constant names only)
        )
    return statements


def create_audit_tables(op: Any) -> None:
    """For a migration: both tables, the SQLite permit table, and the append-only triggers.

    A later migration that rebuilds either table on SQLite (batch mode) must create the
    triggers again.
    """
    op.create_table(RECORD_TABLE, *_record_columns(), _record_constraints()[0])
    op.create_index("ix_audit_record_at", RECORD_TABLE, ["at"])
    op.create_index("ix_audit_record_subject_at", RECORD_TABLE, ["subject", "at"])
    op.create_table(CHILD_TABLE, *_child_columns(), *_child_constraints()[:2])
    op.create_index("ix_audit_record_child_child_id_at", CHILD_TABLE, ["child_id", "at"])
    dialect = op.get_bind().dialect.name
    if dialect != "postgresql":
        op.create_table(
            PERMIT_TABLE,
            Column("id", Integer, nullable=False),
            Column("purge_before", DateTime(timezone=True), nullable=False),
            PrimaryKeyConstraint("id", name="pk_audit_purge_permit"),
            CheckConstraint("id = 1", name="ck_audit_purge_permit_one_row"),
        )
    for statement in append_only_ddl(dialect):
        op.execute(statement)


def drop_audit_tables(op: Any) -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (CHILD_TABLE, RECORD_TABLE):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    else:
        for table in (CHILD_TABLE, RECORD_TABLE):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        op.drop_table(PERMIT_TABLE)
    op.drop_index("ix_audit_record_child_child_id_at", table_name=CHILD_TABLE)
    op.drop_table(CHILD_TABLE)
    op.drop_index("ix_audit_record_subject_at", table_name=RECORD_TABLE)
    op.drop_index("ix_audit_record_at", table_name=RECORD_TABLE)
    op.drop_table(RECORD_TABLE)


# -- retention ------------------------------------------------------------------------------


async def purge(database: Any, table: Table, settings: Any) -> int:
    """Delete records older than `audit_retention_days`, through the triggers' one permit,
    and record the purge itself; returns how many records went."""
    cutoff = datetime.now(UTC) - timedelta(days=settings.audit_retention_days)
    children = child_table(table)
    async with database.transaction() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        if postgres:
            await session.execute(
                text("SELECT set_config(:name, :value, true)"),
                {"name": PURGE_SETTING, "value": cutoff.isoformat()},
            )
        else:
            await session.execute(insert(_PERMIT).values(id=1, purge_before=cutoff))
        await session.execute(delete(children).where(children.c.at < cutoff))
        result = await session.execute(delete(table).where(table.c.at < cutoff))
        count = int(result.rowcount or 0)
        if postgres:
            await session.execute(
                text("SELECT set_config(:name, '', true)"), {"name": PURGE_SETTING}
            )
        else:
            await session.execute(delete(_PERMIT))
        if count:
            await session.execute(insert(table).values(**_purge_record(count, cutoff)))
    if count:
        _log.info("audit_purged", count=count)
    return count


def _purge_record(count: int, cutoff: datetime) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "at": datetime.now(UTC),
        "subject": "system",
        "roles": "",
        "action": PURGE_ACTION,
        "resource_type": "audit",
        "detail": {"count": count, "before": cutoff.isoformat().replace("+00:00", "Z")},
    }
