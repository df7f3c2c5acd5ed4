"""A method a path does not serve is a 405 problem whose Allow names every method it does."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from iro_kit.testing import assert_problem, bearer

IRO = bearer("iro")


@pytest.mark.parametrize("method", ["OPTIONS", "DELETE", "PUT"])
def test_allow_names_the_methods_of_every_route_on_the_path(
    client: TestClient, method: str
) -> None:
    # /kit/v1/notes is two routes, POST declared before GET: Starlette's own 405 lists POST.
    response = client.request(method, "/kit/v1/notes", headers=IRO)

    body = assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == "GET, POST"
    assert body["detail"] == "This path serves GET, POST only."


def test_a_path_of_one_route_allows_its_methods(client: TestClient) -> None:
    response = client.delete("/kit/v1/reviews", headers=IRO)

    assert_problem(response, 405, "method-not-allowed")
    assert response.headers["Allow"] == "POST"
