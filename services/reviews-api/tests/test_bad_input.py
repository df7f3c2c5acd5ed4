"""Bad input is a clear 4xx, never a 500 (issue 11)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from iro_kit.pagination import MAX_OFFSET, encode_cursor

from .conftest import IRO, MANAGER

LISTS = [
    "/reviews/v1/children",
    "/reviews/v1/iros",
    "/reviews/v1/worklists/reviews-due",
    "/reviews/v1/worklists/unallocated-children",
    "/reviews/v1/imports",
]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("offset", [2**63, 2**64 + 5, MAX_OFFSET + 1])
def test_a_cursor_with_a_huge_offset_is_a_422_naming_the_cursor(
    api: TestClient, path: str, offset: int
) -> None:
    response = api.get(path, params={"cursor": encode_cursor(offset)}, headers=MANAGER)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/cursor"


def test_a_cursor_at_the_limit_is_an_empty_page(api: TestClient) -> None:
    response = api.get(
        "/reviews/v1/children", params={"cursor": encode_cursor(MAX_OFFSET)}, headers=IRO
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
