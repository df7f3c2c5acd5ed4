"""The outbox and inbox tables, added to each service's own metadata and migrations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
)


@dataclass(frozen=True)
class EventTables:
    outbox: Table
    inbox: Table
    versions: Table  # one row: the last event version this service issued


def _outbox_columns() -> list[Column[Any]]:
    return [
        Column("id", Uuid, nullable=False),  # one row per (event, subscriber)
        Column("event_id", String(100), nullable=False),
        Column("subscriber", String(100), nullable=False),
        Column("url", String(500), nullable=False),
        Column("type", String(100), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("delivered_at", DateTime(timezone=True)),
        Column("dead_at", DateTime(timezone=True)),
        Column("last_error", Text),
        PrimaryKeyConstraint("id", name="pk_outbox"),
    ]


def _inbox_columns() -> list[Column[Any]]:
    return [
        Column("source", String(200), nullable=False),
        Column("event_id", String(100), nullable=False),
        Column("type", String(100), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("source", "event_id", name="pk_inbox"),
    ]


def _version_columns() -> list[Column[Any]]:
    return [
        Column("id", Integer, nullable=False),
        Column("last", BigInteger, nullable=False),
        PrimaryKeyConstraint("id", name="pk_event_version"),
    ]


# (name, columns): the relay looks for due rows; retention purges by creation time.
_OUTBOX_INDEXES = (
    ("ix_outbox_pending", ["delivered_at", "dead_at", "next_attempt_at"]),
    ("ix_outbox_created_at", ["created_at"]),
)


def event_tables(metadata: MetaData) -> EventTables:
    outbox = Table("outbox", metadata, *_outbox_columns())
    for name, columns in _OUTBOX_INDEXES:
        Index(name, *(outbox.c[c] for c in columns))
    inbox = Table("inbox", metadata, *_inbox_columns())
    versions = Table("event_version", metadata, *_version_columns())
    return EventTables(outbox, inbox, versions)


def create_event_tables(op: Any) -> None:
    """For a service's Alembic migration: `create_event_tables(op)`."""
    op.create_table("outbox", *_outbox_columns())
    for name, columns in _OUTBOX_INDEXES:
        op.create_index(name, "outbox", columns)
    op.create_table("inbox", *_inbox_columns())
    versions = op.create_table("event_version", *_version_columns())
    op.bulk_insert(versions, [{"id": 1, "last": 0}])


def drop_event_tables(op: Any) -> None:
    op.drop_table("event_version")
    op.drop_table("inbox")
    for name, _ in _OUTBOX_INDEXES:
        op.drop_index(name, table_name="outbox")
    op.drop_table("outbox")
