"""Which roles each route accepts, as data.

Each service keeps one table (`<service>/access.py`) of its own routes, and the kit keeps one
(`KIT_ROUTES`) of the routes it adds to every service: health, metrics, docs, `me`, audit and
the events routes. A table maps `"METHOD /path"` (the path after the service's prefix, as the
OpenAPI writes it) to the roles the route accepts, `AUTHENTICATED` (any valid token) or
`PUBLIC` (no token).

The tables describe; `require_roles` enforces. `check_roles` makes the two unable to disagree:
when the app is built it reads the roles each route enforces (the dependencies made by
`require_roles` carry them) and refuses to build the app when a route is missing from the
tables, a table names a route that does not exist, or the roles differ. The OpenAPI
description of each route and the README's "Roles" section are rendered from the same tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from iro_kit.auth import Role, needs_token

PUBLIC: Final = "public"
AUTHENTICATED: Final = "authenticated"

Access = tuple[Role, ...] | Literal["public", "authenticated"]
RoleTable = Mapping[str, Access]

AUDIT_ROLES = (Role.iro_manager, Role.admin)
ADMIN_ROLES = (Role.admin,)
RELAY_ROLES = (Role.integration,)

# The kit's routes. A service has only some of them (the inbox only where it consumes events,
# republish only where it produces them): an entry here may have no route in a given service.
KIT_ROUTES: RoleTable = {
    "GET /health/live": PUBLIC,
    "GET /health/ready": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /openapi.json": PUBLIC,
    "GET /docs": PUBLIC,
    "GET /docs/oauth2-redirect": PUBLIC,
    "GET /redoc": PUBLIC,
    "GET /v1/me": AUTHENTICATED,
    "GET /v1/audit": AUDIT_ROLES,
    "GET /admin/outbox": ADMIN_ROLES,
    "GET /admin/outbox/dead-letters": ADMIN_ROLES,
    "POST /admin/outbox/dead-letters/redrive": ADMIN_ROLES,
    "POST /admin/outbox/dead-letters/{row_id}/redrive": ADMIN_ROLES,
    "POST /admin/events/republish": ADMIN_ROLES,
    "POST /events": RELAY_ROLES,
}


class RoleTableError(RuntimeError):
    """The role tables and the routes' enforced roles disagree: the app is not built."""


@dataclass(frozen=True)
class RouteRoles:
    """One route of an app with the roles its table gives and the roles it enforces."""

    method: str
    path: str  # the full path template, prefix included, as in the OpenAPI
    key: str  # "METHOD /path" without the prefix: the key in the tables
    route: APIRoute


def same_access(a: Access, b: Access) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return frozenset(a) == frozenset(b)


def enforced_access(route: Any) -> Access:
    """What a route enforces: the roles of its `require_roles` dependencies, anywhere in its
    dependency tree (several: a caller must pass each), else a token or nothing."""
    accepted: list[frozenset[Role]] = []
    pending = [route.dependant]
    while pending:
        node = pending.pop()
        roles = getattr(node.call, "accepted_roles", None)
        if isinstance(roles, frozenset):
            accepted.append(roles)
        pending.extend(node.dependencies)
    narrowing = [roles for roles in accepted if roles]
    if narrowing:
        allowed = frozenset.intersection(*narrowing)
        if not allowed:
            raise RoleTableError(
                f"{getattr(route, 'path', route)} requires roles no one role satisfies: "
                + " and ".join(describe(tuple(roles)) for roles in narrowing)
            )
        return tuple(r for r in Role if r in allowed)
    return AUTHENTICATED if accepted or needs_token(route) else PUBLIC


def api_routes(app: FastAPI, prefix: str) -> Iterator[tuple[RouteRoles, Any]]:
    """Every (method, route) the app serves through FastAPI, with its table key."""
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        path = str(context.path_format)
        within = bool(prefix) and (path == prefix or path.startswith(prefix + "/"))
        relative = path[len(prefix) :] if within else path
        for method in sorted(context.methods or ()):
            if method == "HEAD":
                continue
            key = f"{method} {relative}"
            yield RouteRoles(method, path, key, context.original_route), context


def merged(service: RoleTable) -> dict[str, Access]:
    overlap = sorted(set(service) & set(KIT_ROUTES))
    if overlap:
        raise RoleTableError(f"the service's role table repeats kit routes: {', '.join(overlap)}")
    return {**KIT_ROUTES, **service}


def check_roles(app: FastAPI, prefix: str, service: RoleTable) -> dict[str, Access]:
    """The app's routes against the tables; the table by full path, or RoleTableError."""
    table = merged(service)
    problems: list[str] = []
    seen: set[str] = set()
    by_path: dict[str, Access] = {}
    for entry, context in api_routes(app, prefix):
        seen.add(entry.key)
        enforced = enforced_access(context)
        if entry.key not in table:
            problems.append(
                f"{entry.method} {entry.path} is not in the role table "
                f"(it enforces {describe(enforced)})"
            )
            continue
        if not same_access(table[entry.key], enforced):
            problems.append(
                f"{entry.method} {entry.path}: the role table says {describe(table[entry.key])} "
                f"but the route enforces {describe(enforced)}"
            )
        by_path[f"{entry.method} {entry.path}"] = table[entry.key]
    stale = sorted(set(service) - seen)
    problems.extend(f"{key} is in the role table but the app has no such route" for key in stale)
    if problems:
        raise RoleTableError("The role table and the routes disagree:\n  " + "\n  ".join(problems))
    return by_path


def describe(access: Access) -> str:
    if access == PUBLIC:
        return "public (no token)"
    if access == AUTHENTICATED:
        return "any authenticated caller"
    return ", ".join(r.value for r in access)


def roles_sentence(access: Access) -> str:
    """The sentence each route's description ends with."""
    if access == PUBLIC:
        return "Roles: none, no token needed."
    if access == AUTHENTICATED:
        return "Roles: any authenticated caller."
    return f"Roles: {_role_list(access)}."


def document(schema: dict[str, Any], table: Mapping[str, Access]) -> None:
    """Append each route's roles sentence to its OpenAPI description."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            access = table.get(f"{method.upper()} {path}")
            if access is None or not isinstance(operation, dict):
                continue
            sentence = roles_sentence(access)
            description = operation.get("description", "").rstrip()
            if not description.endswith(sentence):
                operation["description"] = f"{description} {sentence}".lstrip()


def ordered(table: Iterable[tuple[str, Access]]) -> list[tuple[str, Access]]:
    """Entries by path, then method, the order the README lists them in."""
    methods = ("GET", "POST", "PUT", "PATCH", "DELETE")
    return sorted(
        table,
        key=lambda item: (
            item[0].split(" ", 1)[1],
            methods.index(item[0].split(" ", 1)[0]) if item[0].split(" ")[0] in methods else 9,
        ),
    )


def markdown(prefix: str, table: Mapping[str, Access]) -> str:
    """One service's routes and their roles as a Markdown table (the README's Roles section),
    from the table `check_roles` returned: every route that needs a token, by path."""
    rows = ["| route | roles |", "|---|---|"]
    for key, access in ordered(table.items()):
        if access == PUBLIC:
            continue
        method, path = key.split(" ", 1)
        who = "any role" if access == AUTHENTICATED else _role_list(access)
        rows.append(f"| `{method} {path}` | {who} |")
    return "\n".join(rows) + "\n"


def _role_list(roles: tuple[Role, ...]) -> str:
    return ", ".join(f"`{r.value}`" for r in Role if r in roles)
