"""Every route that names a record in its path answers 404 problem+json for an unknown id,
with a body that would otherwise be accepted."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import INTEGRATION, IRO, MANAGER
from .problems import assert_problem

V1 = "/reviews/v1"
_REASON = {"reason": "Entered by mistake"}
_PANEL = [{"name": f"Member {n}", "independent": n == 3} for n in (1, 2, 3)]

ROUTES: list[tuple[str, str, dict[str, str], Any]] = [
    ("GET", "/children/{id}", IRO, None),
    ("PATCH", "/children/{id}", INTEGRATION, {"family_name": "Jones"}),
    ("GET", "/children/{id}/episodes", IRO, None),
    (
        "POST",
        "/children/{id}/episodes",
        INTEGRATION,
        {"start_on": "2017-04-03", "reason_new_episode": "S", "legal_status": "C2"},
    ),
    ("GET", "/children/{id}/periods-of-care", IRO, None),
    ("GET", "/children/{id}/schedule", IRO, None),
    ("GET", "/children/{id}/reviews", IRO, None),
    ("POST", "/children/{id}/reviews", IRO, {"held_on": "2017-05-02", "participation_code": "PN1"}),
    ("POST", "/children/{id}/reviews", IRO, {"scheduled_for": "2017-05-02"}),
    ("GET", "/children/{id}/visits", IRO, None),
    ("POST", "/children/{id}/visits", IRO, {"kind": "pre_review", "visited_on": "2017-04-20"}),
    ("GET", "/children/{id}/allocations", IRO, None),
    ("POST", "/children/{id}/allocations", MANAGER, {"iro_id": "{id}", "start_on": "2017-04-05"}),
    ("GET", "/children/{id}/secure-placements", IRO, None),
    ("POST", "/children/{id}/secure-placements", INTEGRATION, {"start_on": "2017-06-01"}),
    ("GET", "/episodes/{id}", IRO, None),
    ("PATCH", "/episodes/{id}", INTEGRATION, {"end_on": "2018-01-10"}),
    ("DELETE", "/episodes/{id}", INTEGRATION, _REASON),
    ("GET", "/reviews/{id}", IRO, None),
    ("PATCH", "/reviews/{id}", IRO, {"notes": "Corrected"}),
    ("DELETE", "/reviews/{id}", IRO, _REASON),
    ("DELETE", "/visits/{id}", IRO, _REASON),
    ("DELETE", "/allocations/{id}", MANAGER, _REASON),
    ("GET", "/iros/{id}", IRO, None),
    ("PATCH", "/iros/{id}", MANAGER, {"fte": 0.5}),
    ("GET", "/iros/{id}/caseload", IRO, None),
    ("POST", "/iros/{id}/reallocate", MANAGER, {"start_on": "2017-09-01"}),
    ("PATCH", "/secure-placements/{id}", INTEGRATION, {"end_on": "2017-10-20"}),
    ("GET", "/secure-placements/{id}/reviews", IRO, None),
    ("POST", "/secure-placements/{id}/reviews", IRO, {"held_on": "2017-06-28", "panel": _PANEL}),
    ("GET", "/children/{id}/plan-dates", IRO, None),
    ("GET", "/children/{id}/annual-outcomes", IRO, None),
    ("GET", "/imports/{id}", IRO, None),
    ("GET", "/imports/{id}/errors", IRO, None),
]


def _fill(value: Any, unknown: str) -> Any:
    if isinstance(value, str):
        return value.replace("{id}", unknown)
    if isinstance(value, dict):
        return {k: _fill(v, unknown) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("method", "path", "headers", "body"),
    ROUTES,
    ids=[f"{m}-{p}-{i}" for i, (m, p, _, _) in enumerate(ROUTES)],
)
def test_an_unknown_id_in_the_path_is_404(
    api: TestClient, method: str, path: str, headers: dict[str, str], body: Any
) -> None:
    unknown = str(uuid.uuid4())

    response = api.request(
        method, f"{V1}{_fill(path, unknown)}", json=_fill(body, unknown), headers=headers
    )

    assert_problem(response, 404, "not-found")


def test_every_route_with_an_id_in_its_path_is_covered(api: TestClient) -> None:
    schema = api.get("/reviews/openapi.json").json()
    with_ids = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{id}", path.removeprefix(V1)))
        for path, operations in schema["paths"].items()
        if "{" in path and path.startswith(V1)  # the kit's admin routes are tested in the kit
        for method in operations
    }
    assert with_ids == {(method, path) for method, path, _, _ in ROUTES}
