"""JSON Schemas of event payloads, generated from their Pydantic models and committed.

Each event type has a model with a `schema_version`. The committed file
`<type>.v<version>.schema.json` must equal what the model generates: changing a payload
without raising its version fails the test that calls `differences`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel


class EventState(BaseModel):
    """Base of every event payload: the aggregate's whole state and its version."""

    schema_version: ClassVar[int] = 1
    version: int


def file_name(event_type: str, model: type[EventState]) -> str:
    return f"{event_type}.v{model.schema_version}.schema.json"


def generated(event_type: str, model: type[EventState]) -> dict[str, object]:
    schema = model.model_json_schema()
    schema["$id"] = f"https://iro.example/events/{file_name(event_type, model)}"
    schema["title"] = event_type
    return schema


def _render(schema: Mapping[str, object]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write(catalogue: Mapping[str, type[EventState]], folder: Path) -> list[Path]:
    """Write the schema of every event type whose version has no file yet."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type, model in catalogue.items():
        path = folder / file_name(event_type, model)
        if not path.exists():
            path.write_text(_render(generated(event_type, model)))
            written.append(path)
    return written


def differences(catalogue: Mapping[str, type[EventState]], folder: Path) -> list[str]:
    """What differs between the code's schemas and the committed ones."""
    problems = []
    for event_type, model in catalogue.items():
        path = folder / file_name(event_type, model)
        if not path.exists():
            problems.append(
                f"{path.name} is not committed (run the service's event-schemas command)"
            )
        elif path.read_text() != _render(generated(event_type, model)):
            problems.append(
                f"{path.name} differs from {model.__name__}: "
                "raise its schema_version for a changed payload"
            )
    return problems


def validate(
    event_type: str, model: type[EventState], folder: Path, data: Mapping[str, object]
) -> None:
    """Check a payload against the committed JSON Schema (producer and consumer tests).

    Raises jsonschema.ValidationError when it does not conform.
    """
    import jsonschema  # a test dependency: only tests validate against committed files

    schema = json.loads((folder / file_name(event_type, model)).read_text())
    jsonschema.validate(dict(data), schema)
