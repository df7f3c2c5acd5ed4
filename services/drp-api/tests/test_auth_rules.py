"""Who may call what: 401 without a valid token on every route, 403 for a role a route refuses.

Role rules (issue 5): raising and every transition: `iro`, `iro_manager`; reading: those and
`performance`; the tracker also `business_support`.
"""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from iro_kit.auth import Role
from iro_kit.testing import bearer

from .conftest import V1
from .problems import assert_problem

ACT = {Role.iro, Role.iro_manager}
READ = ACT | {Role.performance}
TRACKER = READ | {Role.business_support}
EVERYONE = set(Role)

ROUTES = {
    ("get", f"{V1}/me"): EVERYONE,
    ("get", f"{V1}/process"): TRACKER,
    ("post", f"{V1}/disputes"): ACT,
    ("get", f"{V1}/disputes"): READ,
    ("get", f"{V1}/disputes/{{dispute_id}}"): READ,
    ("get", f"{V1}/disputes/{{dispute_id}}/history"): READ,
    ("post", f"{V1}/disputes/{{dispute_id}}/respond"): ACT,
    ("post", f"{V1}/disputes/{{dispute_id}}/escalate"): ACT,
    ("post", f"{V1}/disputes/{{dispute_id}}/refer-to-cafcass"): ACT,
    ("post", f"{V1}/disputes/{{dispute_id}}/resolve"): ACT,
    ("post", f"{V1}/disputes/{{dispute_id}}/withdraw"): ACT,
    ("post", f"{V1}/disputes/{{dispute_id}}/reopen"): ACT,
    ("get", f"{V1}/tracker"): TRACKER,
    ("get", f"{V1}/worklists/stages-due"): READ,
    ("get", f"{V1}/stats"): READ,
    ("get", f"{V1}/audit"): {Role.iro_manager, Role.admin},
    # Internal, not routed by the gateway: the outbox's admin routes and the event inbox.
    ("get", "/drp/admin/outbox"): {Role.admin},
    ("get", "/drp/admin/outbox/dead-letters"): {Role.admin},
    ("post", "/drp/admin/outbox/dead-letters/redrive"): {Role.admin},
    ("post", "/drp/admin/outbox/dead-letters/{row_id}/redrive"): {Role.admin},
    ("post", "/drp/admin/events/republish"): {Role.admin},
}
# The inbox also needs the token's subject to be a producing service (test_people_copy.py).
INBOX = ("post", "/drp/events")


def _api_routes(api: TestClient) -> dict[tuple[str, str], dict]:
    schema = api.get("/drp/openapi.json").json()
    return {
        (method, path): operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "ops" not in operation["tags"]
    }


def _with_ids(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def test_every_route_has_its_roles_decided_and_documented(api: TestClient) -> None:
    routes = _api_routes(api)
    assert set(routes) == set(ROUTES) | {INBOX}
    assert "`integration`" in routes.pop(INBOX)["description"]
    for key, operation in routes.items():
        if key[1] == f"{V1}/me":
            continue
        named = {role.value for role in Role if f"`{role.value}`" in operation["description"]}
        assert named == {role.value for role in ROUTES[key]}, key


def test_every_route_without_a_token_is_401(api: TestClient) -> None:
    for method, path in ROUTES:
        body = {"json": {}} if method == "post" else {}
        response = api.request(method.upper(), _with_ids(path), **body)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_its_routes(api: TestClient, role: Role) -> None:
    headers = bearer(role)
    for (method, path), accepted in ROUTES.items():
        body = {"json": {}} if method == "post" else {}
        response = api.request(method.upper(), _with_ids(path), headers=headers, **body)
        if role in accepted:
            assert response.status_code != 403, (method, path, response.text)
        else:
            problem = assert_problem(response, 403, "forbidden")
            assert problem["detail"].startswith("This route needs one of the roles"), problem


def test_an_expired_or_foreign_token_is_401(api: TestClient) -> None:
    expired = bearer("iro", now=1_000_000)
    assert_problem(api.get(f"{V1}/disputes", headers=expired), 401, "unauthorized")
    foreign = bearer("iro", audience="someone-else")
    assert_problem(api.get(f"{V1}/disputes", headers=foreign), 401, "unauthorized")
