"""What `breaking_changes` calls breaking, and what it lets through (iro_kit.contract)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from iro_kit.contract import breaking_changes, canonical_json


def _spec() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "paths": {
            "/reviews/v1/children": {
                "get": {
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                        }
                    ],
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ChildReadPage"}
                                }
                            }
                        }
                    },
                },
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ChildCreate"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ChildRead"}
                                }
                            }
                        }
                    },
                },
            },
            "/reviews/health/live": {"get": {"responses": {"200": {}}}},
        },
        "components": {
            "schemas": {
                "ChildCreate": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 200},
                        "sex": {"enum": ["M", "F", "U"], "type": "string"},
                        "notes": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                },
                "ChildRead": {
                    "type": "object",
                    "required": ["id", "name", "version"],
                    "properties": {
                        "id": {"type": "string", "format": "uuid"},
                        "name": {"type": "string"},
                        "version": {"type": "integer"},
                        "fte": {"type": "number"},
                        "state": {"enum": ["open", "closed"], "type": "string"},
                    },
                },
                "ChildReadPage": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/ChildRead"},
                        }
                    },
                },
            }
        },
    }


def _changed(edit) -> list[str]:
    old = _spec()
    new = copy.deepcopy(old)
    edit(new)
    return breaking_changes(old, new)


def _schemas(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["components"]["schemas"]


def test_the_same_spec_breaks_nothing() -> None:
    assert breaking_changes(_spec(), _spec()) == []


def _add_optional_request_field(spec):
    _schemas(spec)["ChildCreate"]["properties"]["ethnicity"] = {"type": "string"}


def _add_response_field(spec):
    _schemas(spec)["ChildRead"]["properties"]["age"] = {"type": "integer"}


def _add_route(spec):
    spec["paths"]["/reviews/v1/iros"] = {"get": {"responses": {"200": {}}}}


def _widen_request_enum(spec):
    _schemas(spec)["ChildCreate"]["properties"]["sex"]["enum"].append("1")


def _loosen_request_bound(spec):
    _schemas(spec)["ChildCreate"]["properties"]["name"]["maxLength"] = 300


def _narrow_response_enum(spec):
    _schemas(spec)["ChildRead"]["properties"]["state"]["enum"] = ["open"]


def _move_to_v2(spec):
    spec["paths"]["/reviews/v2/children"] = spec["paths"].pop("/reviews/v1/children")
    _schemas(spec)["ChildCreate"]["required"].append("sex")


def _integer_becomes_number_in_a_request(spec):
    spec["paths"]["/reviews/v1/children"]["get"]["parameters"][0]["schema"]["type"] = "number"


@pytest.mark.parametrize(
    "edit",
    [
        _add_optional_request_field,
        _add_response_field,
        _add_route,
        _widen_request_enum,
        _loosen_request_bound,
        _narrow_response_enum,
        _move_to_v2,
        _integer_becomes_number_in_a_request,
    ],
)
def test_compatible_changes_pass(edit) -> None:
    assert _changed(edit) == []


def _remove_route(spec):
    del spec["paths"]["/reviews/health/live"]


def _remove_method(spec):
    del spec["paths"]["/reviews/v1/children"]["post"]


def _remove_response_field(spec):
    del _schemas(spec)["ChildRead"]["properties"]["fte"]


def _make_response_field_optional(spec):
    _schemas(spec)["ChildRead"]["required"].remove("version")


def _remove_required_response_field(spec):
    del _schemas(spec)["ChildRead"]["properties"]["version"]
    _schemas(spec)["ChildRead"]["required"].remove("version")


def _widen_response_type(spec):
    _schemas(spec)["ChildRead"]["properties"]["fte"] = {
        "anyOf": [{"type": "number"}, {"type": "string"}]
    }


def _add_required_request_field(spec):
    _schemas(spec)["ChildCreate"]["properties"]["born_on"] = {"type": "string"}
    _schemas(spec)["ChildCreate"]["required"].append("born_on")


def _make_request_field_required(spec):
    _schemas(spec)["ChildCreate"]["required"].append("sex")


def _narrow_request_type(spec):
    _schemas(spec)["ChildCreate"]["properties"]["notes"] = {"type": "string"}


def _narrow_request_enum(spec):
    _schemas(spec)["ChildCreate"]["properties"]["sex"]["enum"] = ["M", "F"]


def _tighten_request_bound(spec):
    _schemas(spec)["ChildCreate"]["properties"]["name"]["maxLength"] = 100


def _remove_request_field(spec):
    del _schemas(spec)["ChildCreate"]["properties"]["notes"]


def _add_required_header(spec):
    spec["paths"]["/reviews/v1/children"]["get"]["parameters"].append(
        {"name": "If-Match", "in": "header", "required": True, "schema": {"type": "string"}}
    )


def _make_parameter_required(spec):
    spec["paths"]["/reviews/v1/children"]["get"]["parameters"][0]["required"] = True


def _number_becomes_integer_in_a_request(spec):
    spec["paths"]["/reviews/v1/children"]["get"]["parameters"][0]["schema"]["maximum"] = 100


def _remove_success_status(spec):
    post = spec["paths"]["/reviews/v1/children"]["post"]
    post["responses"]["200"] = post["responses"].pop("201")


def _tighten_a_nullable_request_field(spec):
    _schemas(spec)["ChildCreate"]["properties"]["notes"] = {
        "anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]
    }


def _pattern_on_a_nullable_request_field(spec):
    _schemas(spec)["ChildCreate"]["properties"]["notes"] = {
        "anyOf": [{"type": "string", "pattern": "^[A-Z]+$"}, {"type": "null"}]
    }


def _split_a_response_into_two_objects(spec):
    read = _schemas(spec)["ChildRead"]
    first = {**read, "required": ["id"]}
    second = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}
    _schemas(spec)["ChildRead"] = {"anyOf": [first, second]}


def _remove_an_optional_parameter(spec):
    spec["paths"]["/reviews/v1/children"]["get"]["parameters"] = []


def _change_page_items(spec):
    _schemas(spec)["ChildReadPage"]["properties"]["items"]["items"] = {"type": "string"}


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_remove_route, "GET /reviews/health/live: operation removed"),
        (_remove_method, "POST /reviews/v1/children: operation removed"),
        (
            _remove_response_field,
            "GET /reviews/v1/children 200.items[].fte: response field removed",
        ),
        (
            _make_response_field_optional,
            "POST /reviews/v1/children 201.version: response field made optional",
        ),
        (
            _remove_required_response_field,
            "POST /reviews/v1/children 201.version: response field removed",
        ),
        (
            _widen_response_type,
            "POST /reviews/v1/children 201.fte: response type widened (may now be string)",
        ),
        (
            _add_required_request_field,
            "POST /reviews/v1/children body.born_on: request field added as required",
        ),
        (
            _make_request_field_required,
            "POST /reviews/v1/children body.sex: request field made required",
        ),
        (
            _narrow_request_type,
            "POST /reviews/v1/children body.notes: request type narrowed (no longer accepts null)",
        ),
        (
            _narrow_request_enum,
            'POST /reviews/v1/children body.sex: request values narrowed (no longer accepts "U")',
        ),
        (
            _tighten_request_bound,
            "POST /reviews/v1/children body.name: request bound maxLength tightened (200 → 100)",
        ),
        (_remove_request_field, "POST /reviews/v1/children body.notes: request field removed"),
        (
            _add_required_header,
            "GET /reviews/v1/children header parameter if-match: added as required",
        ),
        (
            _make_parameter_required,
            "GET /reviews/v1/children query parameter limit: made required",
        ),
        (
            _number_becomes_integer_in_a_request,
            "GET /reviews/v1/children query parameter limit: request bound maximum tightened "
            "(500 → 100)",
        ),
        (_remove_success_status, "POST /reviews/v1/children response 201: removed"),
        (
            _tighten_a_nullable_request_field,
            "POST /reviews/v1/children body.notes: request bound maxLength tightened (None → 10)",
        ),
        (
            _pattern_on_a_nullable_request_field,
            "POST /reviews/v1/children body.notes: request pattern changed",
        ),
        (
            _split_a_response_into_two_objects,
            "POST /reviews/v1/children 201: response object shape changed (1 object form(s) "
            "became 2)",
        ),
        (
            _remove_an_optional_parameter,
            "GET /reviews/v1/children query parameter limit: removed",
        ),
        (
            _change_page_items,
            "GET /reviews/v1/children 200.items[]: response type widened (may now be string)",
        ),
    ],
)
def test_breaking_changes_are_named(edit, expected: str) -> None:
    assert expected in _changed(edit)


def test_a_removed_v1_route_with_no_v2_is_removed() -> None:
    def drop(spec):
        del spec["paths"]["/reviews/v1/children"]

    changes = _changed(drop)
    assert "GET /reviews/v1/children: operation removed" in changes
    assert "POST /reviews/v1/children: operation removed" in changes


def test_the_snapshot_text_is_stable() -> None:
    spec = _spec()
    reordered = dict(reversed(list(spec.items())))
    assert canonical_json(spec) == canonical_json(reordered)
    assert canonical_json(spec).endswith("}\n")
