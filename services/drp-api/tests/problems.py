"""Assertions on RFC 9457 problem responses, shared by the API tests."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM_BASE = "https://iro.example/problems/"


def assert_problem(
    response: httpx.Response, status: int, kind: str, pointer: str | None = None
) -> dict[str, Any]:
    """The response is a problem+json of `status` and `kind`, naming `pointer` if given."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == PROBLEM_BASE + kind, body
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    if pointer is not None:
        assert pointer in [error["pointer"] for error in body.get("errors") or []], body
    return body
