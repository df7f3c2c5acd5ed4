"""One vocabulary for date ranges in the API: `start_on` / `end_on` on every record (API.md).

The database columns, ORM attributes and event payloads of allocations, IROs and secure
placements keep their older names (`from_on`, `in_post_from`, `started_on`, ...): those are a
committed contract of their own with the consumers of the events. The API names are mapped to
them here, at the service boundary (an episode's are the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, Field

EPISODE = {"start_on": "start_on", "end_on": "end_on"}
ALLOCATION = {"start_on": "from_on", "end_on": "to_on"}
IRO = {"start_on": "in_post_from", "end_on": "in_post_to"}
SECURE_PLACEMENT = {"start_on": "started_on", "end_on": "ended_on"}


def as_columns(values: Mapping[str, Any], renamed: Mapping[str, str]) -> dict[str, Any]:
    """A request's values keyed by the ORM attributes they set."""
    return {renamed.get(name, name): value for name, value in values.items()}


def read_from(renamed: Mapping[str, str], name: str, **field: Any) -> Any:
    """A response field named `name` in the API, read from the record's own attribute (with
    `from_attributes`) or from the API name (when FastAPI validates the dumped response)."""
    return Field(validation_alias=AliasChoices(name, renamed[name]), **field)
