"""The role tables (`<service>/access.py`, `iro_kit.access.KIT_ROUTES`) against what the
services do: every route, called with no token and with a token of each role, answers as its
table entry says; a route the table does not list fails; the app refuses to build when the
table and the routes' dependencies disagree; descriptions and the README say the same."""

from __future__ import annotations

import dataclasses
import importlib
import re
import uuid
from typing import Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from iro_kit.access import AUTHENTICATED, PUBLIC, RoleTableError, roles_sentence
from iro_kit.auth import Role, require_roles
from iro_kit.migrations import upgrade_to_head
from iro_kit.testing import bearer

from .conftest import SERVICES, ServiceInfo

ROLE_REFUSAL = "This route needs one of the roles"  # iro_kit.auth.require_roles


@pytest.fixture(params=SERVICES, ids=lambda info: info.module)
def service(request: pytest.FixtureRequest, database_url: str):
    info: ServiceInfo = request.param
    app_module = importlib.import_module(f"{info.module}.app")
    settings_module = importlib.import_module(f"{info.module}.settings")
    upgrade_to_head(app_module.SPEC.script_location, database_url)
    app = app_module.create_app(settings_module.Settings(database_url=database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield info, app, client


def _path(template: str, parameters: list[dict[str, Any]]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        schema = next((p.get("schema", {}) for p in parameters if p["name"] == name), {})
        if schema.get("type") == "integer":
            return "1"
        return str(uuid.uuid4()) if schema.get("format") == "uuid" else "unknown"

    return re.sub(r"\{([^}]+)\}", value, template)


def _calls(app: Any) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, template, concrete path, operation) for every documented operation."""
    calls = []
    for template, item in app.openapi()["paths"].items():
        for method, operation in item.items():
            path = _path(template, operation.get("parameters", []))
            calls.append((method.upper(), template, path, operation))
    return calls


def _send(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {} if method in ("POST", "PUT", "PATCH") else None
    # If-Match on every call: a route that needs one gets past it to its role check (which
    # comes first anyway) or to a 404/412; the header means nothing to other routes.
    return client.request(method, path, json=body, headers={"If-Match": '"1"', **headers})


def test_every_route_answers_each_role_as_its_table_says(service) -> None:
    info, app, client = service
    table = app.state.role_table
    calls = _calls(app)
    assert len(calls) >= 10
    missing = [f"{m} {t}" for m, t, _, _ in calls if f"{m} {t}" not in table]
    assert missing == [], f"routes with no entry in {info.module}/access.py: {missing}"
    for method, template, path, operation in calls:
        access = table[f"{method} {template}"]
        anonymous = _send(client, method, path, {})
        where = f"{method} {template}"
        if access == PUBLIC:
            assert anonymous.status_code < 400, (where, anonymous.status_code)
            continue
        assert anonymous.status_code == 401, (where, anonymous.status_code)
        no_required_input = not any(
            p.get("required") for p in operation.get("parameters", [])
        ) and ("requestBody" not in operation)
        for role in Role:
            response = _send(client, method, path, bearer(role.value))
            allowed = access == AUTHENTICATED or role in access
            status = response.status_code
            if not allowed:
                assert status == 403, (where, role.value, status, response.text[:200])
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["detail"].startswith(ROLE_REFUSAL), response.text
                continue
            # Past the role check: not a 401, not the role's 403 (a route may refuse for
            # another reason: /events takes only the producing services), never a 500.
            refused_role = status == 403 and response.json()["detail"].startswith(ROLE_REFUSAL)
            assert status != 401 and not refused_role and status != 500, (
                where,
                role.value,
                status,
                response.text[:200],
            )
            if method == "GET" and no_required_input:
                # On an empty database a lookup may find nothing (no IRO in post to suggest),
                # but the route answered it: a 404 of its own, not the router's.
                found = 200 <= status < 300 or (
                    status == 404 and response.json()["detail"] != "No route matches this path."
                )
                assert found, (where, role.value, status, response.text[:200])


def test_each_description_ends_with_its_roles(service) -> None:
    _, app, _ = service
    table = app.state.role_table
    for method, template, _, operation in _calls(app):
        sentence = roles_sentence(table[f"{method} {template}"])
        assert operation["description"].endswith(sentence), (method, template)
        assert operation["description"].count("Roles:") == 1, (method, template)


def test_an_app_whose_routes_and_table_disagree_is_not_built(database_url: str) -> None:
    from fastapi import APIRouter

    from reviews_api.app import SPEC
    from reviews_api.settings import Settings

    extra = APIRouter(prefix="/reviews/v1", tags=["children"])

    @extra.get("/children-extra")
    async def children_extra(_: Any = Depends(require_roles(Role.admin))) -> None:
        return None

    settings = Settings(database_url=database_url)
    from iro_kit.app import create_service_app

    unlisted = dataclasses.replace(SPEC, routers=[*SPEC.routers, extra])
    with pytest.raises(RoleTableError, match="GET /reviews/v1/children-extra is not in"):
        create_service_app(unlisted, settings)

    wrong = dict(SPEC.roles or {})
    wrong["GET /v1/children"] = (Role.admin,)
    with pytest.raises(RoleTableError, match="GET /reviews/v1/children: the role table says"):
        create_service_app(dataclasses.replace(SPEC, roles=wrong), settings)

    stale = {**(SPEC.roles or {}), "GET /v1/nowhere": (Role.admin,)}
    with pytest.raises(RoleTableError, match="GET /v1/nowhere is in the role table"):
        create_service_app(dataclasses.replace(SPEC, roles=stale), settings)


def test_every_service_has_a_role_table() -> None:
    for info in SERVICES:
        spec = importlib.import_module(f"{info.module}.app").SPEC
        assert spec.roles, info.module
