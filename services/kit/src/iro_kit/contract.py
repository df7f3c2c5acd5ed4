"""The API contract: each service's OpenAPI as a committed snapshot, and what would break it.

A front end builds a client from `services/<service>/openapi.json` (the three specs make one
TypeScript client, `.ci/ts-client`). Two rules keep that client working:

- the snapshot is what the code serves (`iro openapi` writes it, `iro openapi --check` and a
  test compare it with what the apps generate), so a change to the API is a change to a file
  a reviewer sees;
- a change that breaks a client built from the previous snapshot is refused unless the route's
  version changes (`/reviews/v1/...` → `/reviews/v2/...`): `breaking_changes(old, new)`.

Breaking, for a client that was right before: an operation removed; a parameter or request
field made required, or added as required; a request type narrowed (a type, an enum value or a
bound taken away); a response field removed or made optional, or its type widened (the client
would meet a value it does not expect); a success status removed. Adding optional things,
widening what a request accepts and narrowing what a response says are not breaking.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

_VERSION_SEGMENT = re.compile(r"/v(\d+)(?=/|$)")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# How deep nested schemas are compared; far more than any of ours, and a guard against cycles.
_MAX_DEPTH = 12


def canonical_json(schema: dict[str, Any]) -> str:
    """The snapshot's text: stable key order and indentation, so a diff shows what changed."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _route_key(path: str) -> tuple[str, int]:
    """The path with its version segment taken out, and that version (0 when unversioned)."""
    found = _VERSION_SEGMENT.search(path)
    if not found:
        return path, 0
    return path[: found.start()] + "/v*" + path[found.end() :], int(found.group(1))


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


class _Schemas:
    """Resolves `$ref`s of one spec and reads a schema's types, properties and bounds."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.components = spec.get("components", {}).get("schemas", {})

    def resolve(self, schema: dict[str, Any] | None) -> dict[str, Any]:
        seen: set[str] = set()
        schema = schema or {}
        while "$ref" in schema and schema["$ref"] not in seen:
            seen.add(schema["$ref"])
            schema = self.components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return schema

    def alternatives(self, schema: dict[str, Any] | None) -> list[dict[str, Any]]:
        """A schema's branches (anyOf/oneOf), each resolved; a plain schema is its own."""
        schema = self.resolve(schema)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if not branches:
            if "allOf" in schema and len(schema["allOf"]) == 1:
                return self.alternatives(schema["allOf"][0])
            return [schema]
        return [alt for branch in branches for alt in self.alternatives(branch)]

    def types(self, schema: dict[str, Any] | None) -> set[str] | None:
        """The JSON types a schema admits, or None when it admits any."""
        found: set[str] = set()
        for alt in self.alternatives(schema):
            kind = alt.get("type")
            if kind is None:
                if "properties" in alt:
                    kind = "object"
                elif "enum" in alt or "const" in alt:
                    values = alt.get("enum", [alt.get("const")])
                    found.update(_json_type(value) for value in values)
                    continue
                else:
                    return None
            found.update([kind] if isinstance(kind, str) else kind)
        if "number" in found:
            found.add("integer")  # an integer is a number: number ⊇ integer
        return found

    def enum(self, schema: dict[str, Any] | None) -> set[str] | None:
        """The values a schema is limited to, or None when it is not an enumeration."""
        values: set[str] = set()
        for alt in self.alternatives(schema):
            if "enum" in alt:
                values.update(json.dumps(value) for value in alt["enum"])
            elif "const" in alt:
                values.add(json.dumps(alt["const"]))
            elif alt.get("type") != "null":
                return None
        return values

    def object_branches(self, schema: dict[str, Any] | None) -> list[dict[str, Any]]:
        return [alt for alt in self.alternatives(schema) if "properties" in alt]

    def typed_branches(self, schema: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
        """Each branch of a single JSON type but null, by that type (for comparing bounds)."""
        branches: dict[str, dict[str, Any]] = {}
        for alt in self.alternatives(schema):
            kind = alt.get("type")
            if isinstance(kind, str) and kind != "null":
                branches.setdefault(kind, alt)
        return branches

    def items(self, schema: dict[str, Any] | None) -> dict[str, Any] | None:
        arrays = [alt for alt in self.alternatives(schema) if alt.get("type") == "array"]
        return arrays[0].get("items") if len(arrays) == 1 else None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# Bounds a request may loosen but not tighten: (keyword, True when a larger value is tighter).
_BOUNDS = (
    ("minLength", True),
    ("maxLength", False),
    ("minimum", True),
    ("maximum", False),
    ("exclusiveMinimum", True),
    ("exclusiveMaximum", False),
    ("minItems", True),
    ("maxItems", False),
)


class _Comparison:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = _Schemas(old), _Schemas(new)
        self.problems: list[str] = []

    def request(self, where: str, old: Any, new: Any, depth: int = 0) -> None:
        """`new` must accept everything `old` accepted."""
        if depth > _MAX_DEPTH:
            return
        old_types, new_types = self.old.types(old), self.new.types(new)
        if new_types is not None and (old_types is None or not old_types <= new_types):
            lost = "any type" if old_types is None else ", ".join(sorted(old_types - new_types))
            self.problems.append(f"{where}: request type narrowed (no longer accepts {lost})")
            return
        old_enum, new_enum = self.old.enum(old), self.new.enum(new)
        if new_enum is not None and (old_enum is None or not old_enum <= new_enum):
            lost = "any value" if old_enum is None else ", ".join(sorted(old_enum - new_enum))
            self.problems.append(f"{where}: request values narrowed (no longer accepts {lost})")
        old_typed, new_typed = self.old.typed_branches(old), self.new.typed_branches(new)
        for kind, new_branch in new_typed.items():  # a nullable field's bounds sit in a branch
            if kind in old_typed:
                self._bounds(where, old_typed[kind], new_branch)
        for old_object, new_object in self._object_pairs(where, "request", old, new):
            old_props = old_object.get("properties", {})
            new_props = new_object.get("properties", {})
            old_required = set(old_object.get("required", []))
            for name in sorted(set(new_object.get("required", [])) - old_required):
                change = "added as required" if name not in old_props else "made required"
                self.problems.append(f"{where}.{name}: request field {change}")
            for name, old_prop in old_props.items():
                if name not in new_props:
                    if new_object.get("additionalProperties") is False:
                        self.problems.append(f"{where}.{name}: request field removed")
                    continue
                self.request(f"{where}.{name}", old_prop, new_props[name], depth + 1)
        old_items, new_items = self.old.items(old), self.new.items(new)
        if old_items is not None and new_items is not None:
            self.request(f"{where}[]", old_items, new_items, depth + 1)

    def _object_pairs(
        self, where: str, side: str, old: Any, new: Any
    ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The object branches to compare, in order; a change in how many there are (one
        object becoming a choice of two) is a change of shape, and breaking."""
        old_objects, new_objects = self.old.object_branches(old), self.new.object_branches(new)
        if old_objects and new_objects and len(old_objects) != len(new_objects):
            self.problems.append(
                f"{where}: {side} object shape changed ({len(old_objects)} object form(s) "
                f"became {len(new_objects)})"
            )
            return []
        return list(zip(old_objects, new_objects, strict=False))

    def _bounds(self, where: str, old: Any, new: Any) -> None:
        old_s, new_s = self.old.resolve(old), self.new.resolve(new)
        for keyword, larger_is_tighter in _BOUNDS:
            if keyword not in new_s:
                continue
            before, after = old_s.get(keyword), new_s[keyword]
            tighter = before is None or (after > before if larger_is_tighter else after < before)
            if tighter:
                self.problems.append(
                    f"{where}: request bound {keyword} tightened ({before} → {after})"
                )
        if "pattern" in new_s and new_s["pattern"] != old_s.get("pattern"):
            self.problems.append(f"{where}: request pattern changed")

    def response(self, where: str, old: Any, new: Any, depth: int = 0) -> None:
        """Everything `new` may return, a client written for `old` must understand."""
        if depth > _MAX_DEPTH:
            return
        old_types, new_types = self.old.types(old), self.new.types(new)
        if old_types is not None and (new_types is None or not new_types <= old_types):
            added = "any type" if new_types is None else ", ".join(sorted(new_types - old_types))
            self.problems.append(f"{where}: response type widened (may now be {added})")
            return
        old_enum, new_enum = self.old.enum(old), self.new.enum(new)
        if old_enum is not None and (new_enum is None or not new_enum <= old_enum):
            added = "any value" if new_enum is None else ", ".join(sorted(new_enum - old_enum))
            self.problems.append(f"{where}: response values widened (may now be {added})")
        for old_object, new_object in self._object_pairs(where, "response", old, new):
            new_props = new_object.get("properties", {})
            new_required = set(new_object.get("required", []))
            for name in sorted(set(old_object.get("required", [])) - new_required):
                change = "removed" if name not in new_props else "made optional"
                self.problems.append(f"{where}.{name}: response field {change}")
            for name, old_prop in old_object.get("properties", {}).items():
                if name in new_props:
                    self.response(f"{where}.{name}", old_prop, new_props[name], depth + 1)
                elif name not in old_object.get("required", []):
                    self.problems.append(f"{where}.{name}: response field removed")
        old_items, new_items = self.old.items(old), self.new.items(new)
        if old_items is not None and new_items is not None:
            self.response(f"{where}[]", old_items, new_items, depth + 1)


def _parameters(operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (param["in"], param["name"].lower() if param["in"] == "header" else param["name"]): param
        for param in operation.get("parameters", [])
    }


def _json_body(container: dict[str, Any] | None) -> dict[str, Any] | None:
    for media, content in (container or {}).get("content", {}).items():
        if media.endswith("json"):
            return content.get("schema", {})
    return None


def _compare_operation(
    where: str, old_op: dict[str, Any], new_op: dict[str, Any], comparison: _Comparison
) -> None:
    old_params, new_params = _parameters(old_op), _parameters(new_op)
    for key in old_params.keys() - new_params.keys():
        # A client still sends it, and nothing says it is now ignored (an optional filter
        # dropped silently widens what the route answers).
        comparison.problems.append(f"{where} {key[0]} parameter {key[1]}: removed")
    for key, param in new_params.items():
        label = f"{where} {key[0]} parameter {key[1]}"
        if key not in old_params:
            if param.get("required"):
                comparison.problems.append(f"{label}: added as required")
            continue
        if param.get("required") and not old_params[key].get("required"):
            comparison.problems.append(f"{label}: made required")
        comparison.request(label, old_params[key].get("schema"), param.get("schema"))
    old_body, new_body = old_op.get("requestBody"), new_op.get("requestBody")
    if new_body is not None:
        if old_body is None:
            if new_body.get("required"):
                comparison.problems.append(f"{where} request body: added as required")
        else:
            if new_body.get("required") and not old_body.get("required"):
                comparison.problems.append(f"{where} request body: made required")
            old_schema, new_schema = _json_body(old_body), _json_body(new_body)
            if old_schema is not None and new_schema is not None:
                comparison.request(f"{where} body", old_schema, new_schema)
    old_responses, new_responses = old_op.get("responses", {}), new_op.get("responses", {})
    for status, old_response in old_responses.items():
        if not status.startswith("2"):
            continue
        if status not in new_responses:
            comparison.problems.append(f"{where} response {status}: removed")
            continue
        old_schema, new_schema = _json_body(old_response), _json_body(new_responses[status])
        if old_schema is not None and new_schema is not None:
            comparison.response(f"{where} {status}", old_schema, new_schema)


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in `new` would break a client built from `old`, route by route.

    A route whose version went up (`/v1/` in `old`, only `/v2/` in `new`) is a new contract
    and is not compared; a route that is gone with no higher version is "removed".
    """
    comparison = _Comparison(old, new)
    new_ops: dict[tuple[str, str], dict[int, tuple[str, dict[str, Any]]]] = {}
    for path, method, operation in _operations(new):
        route, version = _route_key(path)
        new_ops.setdefault((route, method), {})[version] = (path, operation)
    for path, method, old_op in _operations(old):
        route, version = _route_key(path)
        where = f"{method.upper()} {path}"
        versions = new_ops.get((route, method), {})
        if version in versions:
            _compare_operation(where, old_op, versions[version][1], comparison)
        elif not any(later > version for later in versions):
            comparison.problems.append(f"{where}: operation removed")
    return comparison.problems
