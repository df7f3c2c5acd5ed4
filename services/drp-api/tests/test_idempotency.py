"""A double-submitted raise is one dispute (issue 10): `Idempotency-Key` on every POST."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import IRO, MANAGER, V1, raise_body


def _disputes(api: TestClient) -> list[dict[str, object]]:
    body = api.get(f"{V1}/disputes", headers=MANAGER).json()
    return body["items"] if isinstance(body, dict) else body


def test_a_retried_raise_with_the_same_key_is_one_dispute(api: TestClient) -> None:
    headers = {**IRO, "Idempotency-Key": "raise-0b9e"}
    first = api.post(f"{V1}/disputes", json=raise_body(), headers=headers)
    assert first.status_code == 201, first.text
    again = api.post(f"{V1}/disputes", json=raise_body(), headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert len(_disputes(api)) == 1


def test_without_a_key_a_second_raise_is_a_second_dispute(api: TestClient) -> None:
    """The key is what tells a retry from a new dispute about the same child."""
    assert api.post(f"{V1}/disputes", json=raise_body(), headers=IRO).status_code == 201
    assert api.post(f"{V1}/disputes", json=raise_body(), headers=IRO).status_code == 201
    assert len(_disputes(api)) == 2


def test_the_same_key_with_another_body_is_a_422(api: TestClient) -> None:
    headers = {**IRO, "Idempotency-Key": "raise-1"}
    assert api.post(f"{V1}/disputes", json=raise_body(), headers=headers).status_code == 201
    other = api.post(f"{V1}/disputes", json=raise_body(issue="Something else."), headers=headers)
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert len(_disputes(api)) == 1


def test_a_transition_retried_with_its_key_is_applied_once(api: TestClient) -> None:
    raised = api.post(f"{V1}/disputes", json=raise_body(), headers=IRO).json()
    headers = {**IRO, "If-Match": '"1"', "Idempotency-Key": "escalate-1"}
    path = f"{V1}/disputes/{raised['id']}/escalate"
    first = api.post(path, json={}, headers=headers)
    assert first.status_code == 200, first.text
    again = api.post(path, json={}, headers=headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["stage"] == first.json()["stage"] == 2


def test_every_post_documents_the_key(api: TestClient) -> None:
    schema = api.get("/drp/openapi.json").json()
    for path, item in schema["paths"].items():
        if "post" in item:
            headers = [p["name"] for p in item["post"].get("parameters", []) if p["in"] == "header"]
            assert headers.count("Idempotency-Key") == 1, path
