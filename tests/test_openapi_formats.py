"""Every `format` value a route documents, and every file type its 200 lists, is one it serves:
schemathesis (.ci/fuzz) found `?format=png` documented on routes that answered it with 406."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from iro_kit.exports import ExportFormat, media_type
from iro_local.openapi import service_apps

# Routes with a `format` parameter of their own rather than iro_kit.exports.format_dependency.
HAND_ROLLED = {
    # Literal["json", "csv"], both served: JSON pages, CSV the whole report.
    ("get", "/reviews/v1/imports/{job_id}/errors"),
}


def _format_dependency(route: APIRoute) -> Callable[..., ExportFormat] | None:
    """The route's format_dependency, wherever it sits among its dependencies."""
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if hasattr(dependant.call, "offered"):
            return dependant.call  # type: ignore[return-value]
        stack.extend(dependant.dependencies)
    return None


def _documented_formats(operation: dict[str, Any], schemas: dict[str, Any]) -> list[str] | None:
    """The values `?format=` is documented with (inline or by `$ref`), or None without it."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query" and parameter["name"] == "format":
            schema = parameter["schema"]
            options = [schema, *schema.get("anyOf", [])]
            options = [schemas[o["$ref"].split("/")[-1]] if "$ref" in o else o for o in options]
            (values,) = [o["enum"] for o in options if "enum" in o]
            return list(values)
    return None


def _api_routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """(full path, route) of every APIRoute, included routers flattened."""
    try:  # FastAPI >= 0.16x keeps included routers as branches of the route tree
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies every route into app.routes
        return [(r.path_format, r) for r in app.routes if isinstance(r, APIRoute)]
    return [
        (re.sub(r"\{(\w+):[^}]*\}", r"{\1}", str(c.path)), c.original_route)
        for c in iter_route_contexts(app.routes)
        if isinstance(c.original_route, APIRoute) and c.original_route.include_in_schema
    ]


def _format_operations() -> list[tuple[str, str, str, list[str], dict[str, Any], APIRoute]]:
    found = []
    for name, app in service_apps().items():
        schema = app.openapi()
        paths, schemas = schema["paths"], schema["components"]["schemas"]
        for path, route in _api_routes(app):
            for method in sorted(m.lower() for m in route.methods):
                operation = paths[path][method]
                documented = _documented_formats(operation, schemas)
                if documented is not None:
                    found.append((name, method, path, documented, operation, route))
    return found


OPERATIONS = _format_operations()


def test_the_walk_finds_the_export_routes_of_every_service() -> None:
    services = {name for name, *_ in OPERATIONS}
    assert services == {"reviews", "drp", "scorecard"}
    assert len(OPERATIONS) >= 12  # 2 drp, 9 scorecard, 1 reviews when this was written


@pytest.mark.parametrize(
    ("name", "method", "path", "documented", "operation", "route"),
    OPERATIONS,
    ids=[f"{method} {path}" for _, method, path, *_ in OPERATIONS],
)
def test_every_documented_format_is_served(
    name: str,
    method: str,
    path: str,
    documented: list[str],
    operation: dict[str, Any],
    route: APIRoute,
) -> None:
    chosen = _format_dependency(route)
    if chosen is None:
        assert (method, path) in HAND_ROLLED, "a format parameter not from format_dependency"
        return
    offered: tuple[ExportFormat, ...] = chosen.offered  # type: ignore[attr-defined]
    assert documented == [f.value for f in offered]
    for value in documented:  # `?format=` for each documented value: never a 406
        assert chosen(requested=value, accept=None) is ExportFormat(value)
    # `Accept`: the 200 lists exactly the offered media types, and each one picks its format.
    listed = list(operation["responses"]["200"]["content"])
    assert sorted(listed) == sorted(media_type(f) for f in offered)
    for format_ in offered:
        assert chosen(requested=None, accept=media_type(format_)) is format_
