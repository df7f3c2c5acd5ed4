"""Every error is RFC 9457 problem+json, safe to show and free of internals."""

from fastapi.testclient import TestClient

from iro_kit.testing import bearer

IRO = bearer("iro")


def test_malformed_body_is_422_naming_each_field(client: TestClient) -> None:
    response = client.post(
        "/kit/v1/reviews", json={"held_on": "31/02/2017", "participation_code": "PN9"}, headers=IRO
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://iro.example/problems/validation-error"
    assert body["title"] == "Request is invalid"
    assert body["instance"] == "/kit/v1/reviews"
    pointers = {e["pointer"]: e for e in body["errors"]}
    assert set(pointers) == {"/held_on", "/participation_code"}
    assert pointers["/held_on"]["location"] == "body"
    assert "date" in pointers["/held_on"]["message"]
    assert "/held_on" in body["detail"]


def test_missing_field_is_422_naming_it(client: TestClient) -> None:
    response = client.post("/kit/v1/reviews", json={"participation_code": "PN1"}, headers=IRO)
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/held_on"]


def test_body_that_is_not_json_is_400(client: TestClient) -> None:
    response = client.post(
        "/kit/v1/reviews",
        content=b"{not json",
        headers={**IRO, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The request body is not valid JSON."


def test_valid_body_passes(client: TestClient) -> None:
    response = client.post(
        "/kit/v1/reviews", json={"held_on": "2017-05-04", "participation_code": "PN1"}, headers=IRO
    )
    assert response.status_code == 201
    assert response.json() == {"held_on": "2017-05-04", "participation_code": "PN1"}


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    response = client.get("/kit/v1/no-such-thing", headers=IRO)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "https://iro.example/problems/not-found"
    assert body["instance"] == "/kit/v1/no-such-thing"


def test_trailing_slash_is_not_redirected(client: TestClient) -> None:
    response = client.get("/kit/v1/me/", headers=IRO, follow_redirects=False)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_wrong_method_is_405_problem(client: TestClient) -> None:
    response = client.delete("/kit/v1/me", headers=IRO)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_internal_error_is_500_problem_without_internals(client: TestClient) -> None:
    response = client.get("/kit/v1/boom", headers={**IRO, "X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-500"
    body = response.json()
    assert body["type"] == "https://iro.example/problems/internal-error"
    assert body["request_id"] == "req-500"
    text = response.text
    for leak in ("SELECT", "Jane", "2011-02-03", "Traceback", "RuntimeError"):
        assert leak not in text


def test_openapi_documents_problems_instead_of_fastapis_422(client: TestClient) -> None:
    schema = client.get("/kit/openapi.json").json()
    schemas = schema["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) >= {"type", "title", "status", "detail", "instance"}
    operation = schema["paths"]["/kit/v1/reviews"]["post"]
    for status in ("401", "403", "422"):
        content = operation["responses"][status]["content"]
        assert content == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
    assert operation["operationId"] == "kit-probe-record-review"
    assert schema["paths"]["/kit/v1/me"]["get"]["operationId"] == "kit-identity-me"
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
