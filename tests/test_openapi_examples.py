"""Every route has request and response examples in its OpenAPI (issue 12), and every example
the documents hold is valid against its schema.

(a) Every example anywhere in a service's document (component and inline schemas at any depth,
media types, parameters) validates, with formats checked, against the schema it annotates; the
document's `$ref`s resolve against the document itself (OpenAPI 3.1 schemas are JSON Schema
2020-12).
(b) Every JSON request body and every 2xx JSON response has an example: on the media type, on
its schema, on the component its schema refers to, or (for an array) on the item's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from iro_local.openapi import service_apps

SPEC_URI = "urn:iro:openapi"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Keywords whose value is one schema, and those whose value is a list or a map of schemas.
ONE_SCHEMA = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
)
SCHEMA_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
SCHEMA_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")

FORMATS = FormatChecker()
RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    """RFC 3339 with an offset (jsonschema checks it only with an optional package)."""
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        raise ValueError("not an RFC 3339 date-time with an offset")
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # a real day and time
    return True


@cache
def _specs() -> dict[str, dict[str, Any]]:
    return {name: app.openapi() for name, app in service_apps().items()}


def _pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _schema_examples(schema: Any, at: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(where the schema is, example) for every example on this schema and those inside it."""
    if not isinstance(schema, dict):
        return
    if "example" in schema:
        yield at, schema["example"]
    if "examples" in schema:
        assert isinstance(schema["examples"], list), f"{_pointer(*at)}: `examples` not a list"
        for example in schema["examples"]:
            yield at, example
    for key in ONE_SCHEMA:
        if key in schema:
            yield from _schema_examples(schema[key], (*at, key))
    for key in SCHEMA_LIST:
        for i, sub in enumerate(schema.get(key, [])):
            yield from _schema_examples(sub, (*at, key, str(i)))
    for key in SCHEMA_MAP:
        for name, sub in schema.get(key, {}).items():
            yield from _schema_examples(sub, (*at, key, name))


def _holder_examples(holder: dict[str, Any], at: tuple[str, ...]) -> Iterator[tuple[Any, Any]]:
    """A media type's or parameter's `example` / `examples` (an OpenAPI map of Example
    objects) and those of its schema."""
    if "example" in holder:
        yield (*at, "schema"), holder["example"]
    for name, example in holder.get("examples", {}).items():
        assert "value" in example, f"{_pointer(*at, 'examples', name)}: no `value`"
        yield (*at, "schema"), example["value"]
    yield from _schema_examples(holder.get("schema"), (*at, "schema"))


def all_examples(spec: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(the schema's path in the document, example) for every example the document holds."""
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        yield from _schema_examples(schema, ("components", "schemas", name))
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            at = ("paths", path, method)
            for i, parameter in enumerate(operation.get("parameters", [])):
                yield from _holder_examples(parameter, (*at, "parameters", str(i)))
            body = operation.get("requestBody", {})
            for media, content in body.get("content", {}).items():
                yield from _holder_examples(content, (*at, "requestBody", "content", media))
            for status, response in operation.get("responses", {}).items():
                here = (*at, "responses", status)
                for media, content in response.get("content", {}).items():
                    yield from _holder_examples(content, (*here, "content", media))
                for header, value in response.get("headers", {}).items():
                    yield from _holder_examples(value, (*here, "headers", header))


def example_problems(spec: dict[str, Any]) -> list[str]:
    """Every example that is not valid against its schema, as `pointer: message`."""
    registry = Registry().with_resource(SPEC_URI, Resource(spec, specification=DRAFT202012))
    problems = []
    for at, example in all_examples(spec):
        pointer = _pointer(*at)
        validator = Draft202012Validator(
            {"$ref": SPEC_URI + "#" + quote(pointer, safe="/~")},
            registry=registry,
            format_checker=FORMATS,
        )
        for error in validator.iter_errors(example):
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{pointer}: at {where}: {error.message}")
    return problems


def _component(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    assert ref.startswith("#/components/schemas/"), ref
    return spec["components"]["schemas"][ref.removeprefix("#/components/schemas/")]


def _exemplified(spec: dict[str, Any], schema: Any) -> bool:
    if not isinstance(schema, dict):
        return False
    schema = _component(spec, schema)
    if "example" in schema or "examples" in schema:
        return True
    return schema.get("type") == "array" and _exemplified(spec, schema.get("items"))


def missing_examples(spec: dict[str, Any]) -> list[str]:
    """`METHOD path: what` for every JSON request body and 2xx JSON response without one."""
    missing = []
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            bodies = [("request body", operation.get("requestBody", {}))]
            bodies += [
                (f"{status} response", response)
                for status, response in operation.get("responses", {}).items()
                if status.startswith("2")
            ]
            for what, body in bodies:
                for media, content in body.get("content", {}).items():
                    if "json" not in media:
                        continue
                    if "example" in content or content.get("examples"):
                        continue
                    if not _exemplified(spec, content.get("schema")):
                        missing.append(f"{method.upper()} {path}: {what} ({media})")
    return missing


# --- the checker itself: it finds what it is meant to find -------------------------------

_TOY = {
    "openapi": "3.1.0",
    "paths": {
        "/toy/{code}": {
            "get": {
                "parameters": [
                    {"name": "code", "in": "path", "schema": {"type": "string"}, "example": 7}
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Toy"}}
                        },
                    },
                    "201": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Bare"},
                                }
                            }
                        },
                    },
                },
            },
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Bare"},
                            "examples": {"one": {"value": {"on": "2017-02-30"}}},
                        }
                    }
                },
                "responses": {"204": {"description": "none"}},
            },
        }
    },
    "components": {
        "schemas": {
            "Toy": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "format": "uuid", "examples": ["not-a-uuid"]},
                    "example": {"$ref": "#/components/schemas/Bare"},
                },
                "required": ["id"],
                "example": {"id": "0b5c1a3e-8a52-4c8e-9d0a-6f1f7e0b2a11", "example": {"on": 3}},
            },
            "Bare": {
                "type": "object",
                "properties": {"on": {"type": "string", "format": "date"}},
                "additionalProperties": False,
            },
        }
    },
}


def test_the_checker_finds_every_invalid_example() -> None:
    problems = example_problems(_TOY)
    assert len(problems) == 4, problems
    assert any(p.startswith("/paths/~1toy~1{code}/get/parameters/0/schema:") for p in problems)
    assert any("/components/schemas/Toy/properties/id:" in p for p in problems)
    assert any(p.startswith("/components/schemas/Toy: at example/on:") for p in problems)
    assert any("requestBody" in p and "is not a 'date'" in p for p in problems)


def test_the_checker_finds_every_missing_example() -> None:
    assert missing_examples(_TOY) == ["GET /toy/{code}: 201 response (application/json)"]


def test_the_checker_accepts_rfc3339_times_only() -> None:
    schema = {"type": "string", "format": "date-time"}
    valid = Draft202012Validator(schema, format_checker=FORMATS).is_valid
    assert valid("2017-03-31T16:45:00Z") and valid("2017-03-31T16:45:00.120+01:00")
    assert not valid("2017-03-31") and not valid("2017-03-31T16:45:00")
    assert not valid("2017-02-30T16:45:00Z")


# --- the three services ------------------------------------------------------------------


@pytest.mark.parametrize("service", ["reviews", "drp", "scorecard"])
def test_every_example_is_valid_against_its_schema(service: str) -> None:
    spec = _specs()[service]
    examples = list(all_examples(spec))
    assert len(examples) >= 5, f"{service}: only {len(examples)} examples found"
    problems = example_problems(spec)
    assert not problems, json.dumps(problems, indent=1)


@pytest.mark.parametrize("service", ["reviews", "drp", "scorecard"])
def test_every_json_body_and_2xx_response_has_an_example(service: str) -> None:
    missing = missing_examples(_specs()[service])
    assert not missing, f"{len(missing)} without an example:\n" + "\n".join(missing)
