"""Which event types go to which subscriber: deployment configuration, not producer code."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field, TypeAdapter


class EventRoute(BaseModel):
    subscriber: str = Field(description="A name for metrics and admin views, e.g. `drp-api`.")
    url: str = Field(description="The subscriber's inbox, e.g. http://drp-api:8000/drp/events")
    types: list[str] = Field(description="Event types to deliver; `*` for all.")

    def wants(self, event_type: str) -> bool:
        return "*" in self.types or event_type in self.types


_ROUTES = TypeAdapter(list[EventRoute])


def load_routes(inline: list[EventRoute], file: str | None) -> list[EventRoute]:
    """Routes from settings: an inline JSON list, or a JSON file (deploy/events/*.json)."""
    if file:
        return _ROUTES.validate_python(json.loads(Path(file).read_text()))
    return list(inline)
