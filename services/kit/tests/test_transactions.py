"""Every request's writes are one transaction: all of them or none, decided before responding."""

from fastapi.testclient import TestClient


def test_writes_are_committed_when_the_request_succeeds(client: TestClient) -> None:
    assert client.post("/kit/v1/notes", json=["a", "b"]).status_code == 201
    assert client.get("/kit/v1/notes").json() == ["a", "b"]


def test_an_error_after_writing_rolls_every_write_back(client: TestClient) -> None:
    response = client.post("/kit/v1/notes?fail=true", json=["a", "b"])
    assert response.status_code == 422
    assert client.get("/kit/v1/notes").json() == []


def test_a_failed_commit_is_the_response_not_a_false_success(client: TestClient) -> None:
    client.post("/kit/v1/notes", json=["a"])
    response = client.post("/kit/v1/notes", json=["c", "a"])
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The change conflicts with data already recorded."
    assert "UNIQUE" not in response.text.upper() and "label" not in response.text
    assert client.get("/kit/v1/notes").json() == ["a"]


def test_a_released_savepoint_is_undone_when_the_request_fails(client: TestClient) -> None:
    # SQLite's driver would start the transaction with the savepoint itself, and releasing it
    # would commit: the kit begins every transaction explicitly so that nesting holds.
    response = client.post("/kit/v1/notes?fail=true&nested=true", json=["n1", "n2"])
    assert response.status_code == 422
    assert client.get("/kit/v1/notes").json() == []
