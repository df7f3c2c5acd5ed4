"""Nulls back into the OpenAPI document's examples.

FastAPI writes its document with every `null` left out, examples' included
(fastapi/fastapi#5559, still so in 0.165), so an example showing a nullable required field as
null (`"end_on": null` while an episode lasts) would be published without the field, and be
invalid against its own schema. `restore_nulls` puts each example back as its model or route
declared it: it collects every example the routes declare (their models' JSON Schemas, their
`responses` and their bodies' `openapi_examples`) and replaces each example in the document
whose null-free form is one of them. The match is by value, not by name, so renamed
components (`ChildReadPage`) match as well; an example declared twice with nulls in different
places is left as FastAPI wrote it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import routing
from pydantic import TypeAdapter
from starlette.routing import BaseRoute

_AMBIGUOUS = object()


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _key(value: Any) -> str:
    return json.dumps(_without_nulls(value), sort_keys=True, default=str)


def _has_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_has_null(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_null(v) for v in value)
    return False


def _in_schema(node: Any) -> Iterator[Any]:
    """Every `example` and each of `examples` anywhere in a JSON Schema or OpenAPI node."""
    if isinstance(node, dict):
        if "example" in node:
            yield node["example"]
        examples = node.get("examples")
        if isinstance(examples, list):
            yield from examples
        elif isinstance(examples, dict):  # an OpenAPI map of Example objects
            yield from (
                e["value"] for e in examples.values() if isinstance(e, dict) and "value" in e
            )
        for value in node.values():
            yield from _in_schema(value)
    elif isinstance(node, list):
        for value in node:
            yield from _in_schema(value)


def _schema_of(annotation: Any, mode: str) -> dict[str, Any]:
    try:
        return TypeAdapter(annotation).json_schema(mode=mode)  # type: ignore[arg-type]
    except Exception:  # a type with no JSON Schema (a Response class) declares no example
        return {}


def _declared(routes: Sequence[BaseRoute]) -> Iterator[Any]:
    for context in routing.iter_route_contexts(routes):
        route = context.original_route
        if not isinstance(route, routing.APIRoute) or not route.include_in_schema:
            continue
        if route.response_model is not None:
            yield from _in_schema(_schema_of(route.response_model, "serialization"))
        for response in route.responses.values():
            if "model" in response:
                yield from _in_schema(_schema_of(response["model"], "serialization"))
            yield from _in_schema(response.get("content", {}))
        for param in route.dependant.body_params:
            yield from _in_schema(_schema_of(param.field_info.annotation, "validation"))
            yield from (e["value"] for e in (param.field_info.openapi_examples or {}).values())
            yield from param.field_info.examples or []


def restore_nulls(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Put the nulls FastAPI left out back into the document's examples (in place)."""
    authored: dict[str, Any] = {}
    for example in _declared(routes):
        # Null-free ones too: one that is another's null-free form makes that one ambiguous.
        key = _key(example)
        if key in authored and authored[key] != example:
            authored[key] = _AMBIGUOUS
        else:
            authored[key] = example

    def restored(value: Any) -> Any:
        found = authored.get(_key(value), _AMBIGUOUS)
        return value if found is _AMBIGUOUS else copy.deepcopy(found)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "example" in node:
                node["example"] = restored(node["example"])
            examples = node.get("examples")
            if isinstance(examples, list):
                node["examples"] = [restored(e) for e in examples]
            elif isinstance(examples, dict):
                for example in examples.values():
                    if isinstance(example, dict) and "value" in example:
                        example["value"] = restored(example["value"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    if any(_has_null(example) for example in authored.values()):
        walk(document)
