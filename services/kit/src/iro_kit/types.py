"""Field types every service's schemas share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema


def _utc_z(value: datetime) -> str:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(_utc_z, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),  # documented as what it is
]
"""A timestamp, written in JSON as UTC with `Z` (API.md)."""
