"""Who may call what: 401 without a valid token on every route, 403 for a role a route refuses.

Role rules (issue 3): IROs, managers, business support and performance read; recording reviews
and visits is for `iro`, `iro_manager` and `business_support`; allocations for `iro_manager`;
case data (children, episodes, secure placements) for `integration` and `business_support`;
IROs themselves are administered by `iro_manager` and `business_support`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from iro_kit.testing import bearer

from .conftest import INTEGRATION, IRO, MANAGER, PERFORMANCE, SUPPORT
from .problems import assert_problem

V1 = "/reviews/v1"
ID = "00000000-0000-4000-8000-000000000000"
WITH_BODY = {"POST", "PATCH", "PUT", "DELETE"}


def _api_routes(app: FastAPI) -> Iterator[tuple[str, str, list[str]]]:
    """(method, path, tags) of every APIRoute, routers included in the app flattened."""
    try:  # FastAPI >= 0.16x keeps included routers as branches of the route tree
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies every route into app.routes
        contexts: Any = app.routes
        routes = [(r, r) for r in contexts if isinstance(r, APIRoute)]
    else:
        routes = [
            (c, c.original_route)
            for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)
        ]
    for effective, original in routes:
        for method in sorted(effective.methods or ()):
            yield method, effective.path, list(original.tags or [])


def _with_ids(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def test_every_route_without_a_token_is_401_problem_json(api: TestClient) -> None:
    routes = [(m, p) for m, p, tags in _api_routes(api.app) if "ops" not in tags]
    assert len(routes) >= 40, routes  # the walk found the service's routers
    assert ("POST", f"{V1}/children/{{child_id}}/reviews") in routes

    refused = []
    for method, path in routes:
        body = {"json": {}} if method in WITH_BODY else {}
        response = api.request(method, _with_ids(path), **body)
        problem = response.json() if response.status_code == 401 else {}
        if (
            response.status_code != 401
            or not response.headers["content-type"].startswith("application/problem+json")
            or problem.get("type") != "https://iro.example/problems/unauthorized"
            or not response.headers.get("www-authenticate", "").startswith("Bearer")
        ):
            refused.append((method, path, response.status_code))

    assert refused == []


def test_the_ops_routes_need_no_token(api: TestClient) -> None:
    ops = [(m, p) for m, p, tags in _api_routes(api.app) if "ops" in tags]
    assert ops
    for method, path in ops:
        assert api.request(method, path).status_code != 401, path


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        bearer("iro", secret="a-secret-that-is-not-the-services-dev-secret"),
        bearer("iro", now=int(time.time()) - 24 * 3600),
        bearer("iro", audience="another-platform"),
    ],
    ids=["malformed", "not-bearer", "wrong-key", "expired", "wrong-audience"],
)
def test_a_bad_token_is_401(api: TestClient, headers: dict[str, str]) -> None:
    response = api.get(f"{V1}/children", headers=headers)
    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize("headers", [IRO, MANAGER, SUPPORT, PERFORMANCE])
def test_every_reading_role_may_read(api: TestClient, headers: dict[str, str]) -> None:
    for path in ("/children", "/iros", "/caseloads", "/worklists/reviews-due"):
        response = api.get(f"{V1}{path}", params={"as_at": "2017-04-03"}, headers=headers)
        assert response.status_code == 200, (path, response.text)


_CHILD = {
    "external_id": "LCS-1",
    "given_name": "Sam",
    "family_name": "Taylor",
    "date_of_birth": "2010-06-15",
    "sex": "female",
}
_EPISODE = {"start_on": "2017-04-03", "reason_new_episode": "S", "legal_status": "C2"}
_REVIEW = {"held_on": "2017-05-02", "participation_code": "PN1"}
_REASON = {"reason": "Entered by mistake"}
_IRO = {"name": "Alex", "email": "alex@la.example", "fte": 1, "start_on": "2016-01-01"}
_PANEL = [{"name": f"Member {n}", "independent": n == 3} for n in (1, 2, 3)]

WRONG_ROLES = [
    # Recording reviews and visits: iro, iro_manager, business_support.
    ("performance", PERFORMANCE, "POST", f"/children/{ID}/reviews", _REVIEW),
    ("integration", INTEGRATION, "POST", f"/children/{ID}/reviews", _REVIEW),
    ("performance", PERFORMANCE, "PATCH", f"/reviews/{ID}", {"notes": "x"}),
    ("performance", PERFORMANCE, "DELETE", f"/reviews/{ID}", _REASON),
    ("performance", PERFORMANCE, "POST", f"/children/{ID}/visits", {"kind": "midway"}),
    ("integration", INTEGRATION, "DELETE", f"/visits/{ID}", _REASON),
    # Allocations: iro_manager only.
    ("iro", IRO, "POST", f"/children/{ID}/allocations", {"iro_id": ID, "start_on": "2017-04-05"}),
    ("support", SUPPORT, "POST", f"/children/{ID}/allocations", {"iro_id": ID}),
    ("iro", IRO, "DELETE", f"/allocations/{ID}", _REASON),
    ("iro", IRO, "POST", f"/iros/{ID}/reallocate", {"start_on": "2017-09-01"}),
    # Case data: integration, business_support.
    ("iro", IRO, "POST", "/children", _CHILD),
    ("manager", MANAGER, "POST", "/children", _CHILD),
    ("performance", PERFORMANCE, "POST", "/children", _CHILD),
    ("iro", IRO, "PATCH", f"/children/{ID}", {"family_name": "Jones"}),
    ("iro", IRO, "POST", f"/children/{ID}/episodes", _EPISODE),
    ("manager", MANAGER, "PATCH", f"/episodes/{ID}", {"end_on": "2018-01-10"}),
    ("iro", IRO, "DELETE", f"/episodes/{ID}", _REASON),
    ("iro", IRO, "POST", f"/children/{ID}/secure-placements", {"start_on": "2017-06-01"}),
    ("iro", IRO, "PATCH", f"/secure-placements/{ID}", {"end_on": "2017-10-20"}),
    ("performance", PERFORMANCE, "POST", f"/secure-placements/{ID}/reviews", {"panel": _PANEL}),
    # IROs: iro_manager, business_support.
    ("iro", IRO, "POST", "/iros", _IRO),
    ("integration", INTEGRATION, "POST", "/iros", _IRO),
    ("iro", IRO, "PATCH", f"/iros/{ID}", {"fte": 0.5}),
    # Reading: not the case system's integration account.
    ("integration", INTEGRATION, "GET", f"/children/{ID}/schedule", None),
    ("integration", INTEGRATION, "GET", "/children", None),
    ("integration", INTEGRATION, "GET", "/worklists/reviews-due", None),
    ("integration", INTEGRATION, "GET", "/caseloads", None),
]


@pytest.mark.parametrize(
    ("headers", "method", "path", "body"),
    [row[1:] for row in WRONG_ROLES],
    ids=[f"{role}-{method}-{path.replace(ID, 'id')}" for role, _, method, path, _ in WRONG_ROLES],
)
def test_a_role_the_route_does_not_accept_is_403(
    api: TestClient, headers: dict[str, str], method: str, path: str, body: Any
) -> None:
    response = api.request(method, f"{V1}{path}", json=body, headers=headers)

    problem = assert_problem(response, 403, "forbidden")
    assert problem["detail"].startswith("This route needs one of the roles:")


def test_a_token_without_any_known_role_is_403(api: TestClient) -> None:
    response = api.get(f"{V1}/children", headers=bearer())
    assert_problem(response, 403, "forbidden")


def test_a_refused_write_changes_nothing(api: TestClient) -> None:
    assert_problem(api.post(f"{V1}/children", json=_CHILD, headers=IRO), 403, "forbidden")
    assert api.get(f"{V1}/children", headers=IRO).json()["items"] == []


def test_every_route_documents_one_tag_and_the_roles_it_accepts(api: TestClient) -> None:
    schema = api.get("/reviews/openapi.json").json()
    undocumented = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            tags = operation.get("tags", [])
            if tags in (["ops"], ["identity"]):  # the kit's routes
                continue
            if len(tags) != 1 or "Roles:" not in operation.get("description", ""):
                undocumented.append((method, path, tags))
            if "401" not in operation["responses"] or "403" not in operation["responses"]:
                undocumented.append((method, path, "401/403 not documented"))
    assert undocumented == []
