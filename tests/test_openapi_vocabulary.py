"""One vocabulary across the three APIs (issue 12, API.md): a date range is `start_on` /
`end_on` on every record, never `starts_on`, `from_on`, `in_post_from` or `started_on`; and a
number is a number, never "number or string" (reviews-api's `fte` was a Decimal documented as
both).

The database columns and the event payloads keep the old names: only the OpenAPI is held here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from iro_local.openapi import service_apps

OLD_RANGE_NAMES = frozenset(
    {
        "starts_on",
        "ends_on",
        "from_on",
        "to_on",
        "in_post_from",
        "in_post_to",
        "started_on",
        "ended_on",
    }
)
NUMBERS = frozenset({"number", "integer"})
# Keys whose values are data (examples), not schemas; walked separately.
DATA_KEYS = frozenset({"example", "examples", "default", "enum", "const"})


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return {name: app.openapi() for name, app in service_apps().items()}


def _schemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every JSON object in the document outside example data, with where it sits."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            if key not in DATA_KEYS:
                yield from _schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schemas(value, f"{where}/{index}")


def _properties(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for where, node in _schemas(document):
        properties = node.get("properties")
        if isinstance(properties, dict) and where.split("/")[-1] != "properties":
            for name, schema in properties.items():
                if isinstance(schema, dict):
                    yield f"{where}/properties/{name}", name, schema


def _parameters(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters", []):
                    yield f"{method.upper()} {path}", parameter


def _types(schema: dict[str, Any], components: dict[str, Any], seen: frozenset[str]) -> set[str]:
    """The JSON types a value of `schema` may have, through `$ref`, `anyOf`, `oneOf`, `allOf`."""
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen or name not in components:
            return set()
        return _types(components[name], components, seen | {name})
    found: set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(declared)
    for key in ("anyOf", "oneOf", "allOf"):
        for member in schema.get(key, []):
            found |= _types(member, components, seen)
    return found


def _mixes_numbers_and_strings(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    types = _types(schema, components, frozenset())
    return bool(types & NUMBERS) and "string" in types


def _example_keys(node: Any, inside_example: bool = False) -> Iterator[str]:
    """Every object key inside example data (request and response examples), but not inside
    a CloudEvent's `data`: event payloads (services/reviews-api/events/*.schema.json) are a
    contract of their own with the consuming services and keep their names."""
    if isinstance(node, dict):
        event = inside_example and "specversion" in node
        for key, value in node.items():
            if inside_example:
                yield key
            if event and key == "data":
                continue
            yield from _example_keys(value, inside_example or key in {"example", "examples"})
    elif isinstance(node, list):
        for value in node:
            yield from _example_keys(value, inside_example)


def test_the_three_documents_have_schemas_to_check(documents: dict[str, dict[str, Any]]) -> None:
    assert set(documents) == {"reviews", "drp", "scorecard"}
    for name, document in documents.items():
        assert sum(1 for _ in _properties(document)) > 20, name
        assert sum(1 for _ in _parameters(document)) > 5, name


def test_the_new_range_names_are_what_the_records_carry(
    documents: dict[str, dict[str, Any]],
) -> None:
    schemas = documents["reviews"]["components"]["schemas"]
    for record in (
        "EpisodeCreate",
        "EpisodeRead",
        "PeriodOfCareRead",
        "IroCreate",
        "IroRead",
        "AllocationCreate",
        "AllocationRead",
        "Reallocation",
        "ReallocationLetter",
        "SecurePlacementCreate",
        "SecurePlacementRead",
    ):
        assert {"start_on", "end_on"} & set(schemas[record]["properties"]), record


def test_no_property_or_parameter_has_an_old_range_name(
    documents: dict[str, dict[str, Any]],
) -> None:
    found = [
        f"{service}: {where}"
        for service, document in documents.items()
        for where, name, _ in _properties(document)
        if name in OLD_RANGE_NAMES
    ]
    found += [
        f"{service}: {operation} parameter {parameter['name']}"
        for service, document in documents.items()
        for operation, parameter in _parameters(document)
        if parameter.get("name") in OLD_RANGE_NAMES
    ]
    assert found == []


def test_no_example_uses_an_old_range_name(documents: dict[str, dict[str, Any]]) -> None:
    found = {
        service: sorted(set(_example_keys(document)) & OLD_RANGE_NAMES)
        for service, document in documents.items()
    }
    assert found == {"reviews": [], "drp": [], "scorecard": []}


def test_no_property_or_parameter_is_a_number_or_a_string(
    documents: dict[str, dict[str, Any]],
) -> None:
    found = []
    for service, document in documents.items():
        components = document.get("components", {}).get("schemas", {})
        found += [
            f"{service}: {where}"
            for where, _, schema in _properties(document)
            if _mixes_numbers_and_strings(schema, components)
        ]
        found += [
            f"{service}: {operation} parameter {parameter['name']}"
            for operation, parameter in _parameters(document)
            if _mixes_numbers_and_strings(parameter.get("schema", {}), components)
        ]
    assert found == []


def test_fte_is_a_number_in_hundredths_from_0_to_1(documents: dict[str, dict[str, Any]]) -> None:
    schemas = documents["reviews"]["components"]["schemas"]
    create = schemas["IroCreate"]["properties"]["fte"]
    assert (create["type"], create["exclusiveMinimum"], create["maximum"]) == ("number", 0, 1)
    update = schemas["IroUpdate"]["properties"]["fte"]
    assert sorted(m.get("type") for m in update["anyOf"]) == ["null", "number"]
    assert schemas["IroRead"]["properties"]["fte"]["type"] == "number"


def test_the_checks_catch_what_they_look_for() -> None:
    """The walkers find an old name and a number-or-string union where they sit."""
    document: dict[str, Any] = {
        "paths": {"/x": {"get": {"parameters": [{"name": "from_on", "schema": {}}]}}},
        "components": {
            "schemas": {
                "Amount": {"anyOf": [{"type": "number"}, {"type": "string"}]},
                "Thing": {
                    "type": "object",
                    "properties": {
                        "start_on": {"type": "string"},
                        "amount": {"$ref": "#/components/schemas/Amount"},
                        "count": {"type": ["integer", "string"]},
                        "ratio": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                    },
                    "example": {"start_on": "2017-01-01", "ratio": 1},
                    "examples": [{"specversion": "1.0", "data": {"in_post_from": "2015-09-01"}}],
                },
            }
        },
    }
    components = document["components"]["schemas"]
    names = {name for _, name, _ in _properties(document)}
    assert names == {"start_on", "amount", "count", "ratio"}
    assert [p["name"] for _, p in _parameters(document)] == ["from_on"]
    mixed = {n for _, n, s in _properties(document) if _mixes_numbers_and_strings(s, components)}
    assert mixed == {"amount", "count"}
    assert set(_example_keys(document)) == {"start_on", "ratio", "specversion", "data"}
