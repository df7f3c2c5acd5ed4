"""Bearer tokens: who gets in, who is refused, and how the refusal reads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from iro_kit.settings import PLACEHOLDER_DEV_SECRET, Environment, ServiceSettings
from iro_kit.testing import bearer
from iro_kit.tokens import mint_dev_token

CLAIMS = {"sub": "u-1", "iss": "iro-dev", "aud": "iro-platform", "roles": ["iro_manager"]}


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {**CLAIMS, "iat": now, "exp": now + 600, **overrides}


def _assert_401(client: TestClient, token: str) -> dict[str, Any]:
    response = client.get("/kit/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["type"] == "https://iro.example/problems/unauthorized"
    assert body["status"] == 401
    assert body["instance"] == "/kit/v1/me"
    return body


def test_no_token_is_401_problem(client: TestClient) -> None:
    response = client.get("/kit/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "A bearer token is required."


def test_valid_dev_token_returns_the_caller(client: TestClient) -> None:
    response = client.get("/kit/v1/me", headers=bearer("iro", "performance", subject="u-7"))
    assert response.status_code == 200
    assert response.json() == {
        "subject": "u-7",
        "name": "Dev User",
        "email": None,
        "roles": ["iro", "performance"],
        "issuer": "iro-dev",
    }


def test_expired_token_is_401(client: TestClient) -> None:
    token = mint_dev_token(["iro"], now=int(time.time()) - 7200, ttl_seconds=600)
    assert "expired" in _assert_401(client, token)["detail"]


def test_wrongly_signed_token_is_401(client: TestClient) -> None:
    token = jwt.encode(
        _claims(), "another-secret-of-sufficient-length-0123456789", algorithm="HS256"
    )
    _assert_401(client, token)


def test_alg_none_token_is_401(client: TestClient) -> None:
    token = jwt.encode(_claims(), key=None, algorithm="none")
    assert "not accepted" in _assert_401(client, token)["detail"]


def test_wrong_audience_is_401(client: TestClient) -> None:
    token = mint_dev_token(["iro"], audience="someone-else")
    assert "audience" in _assert_401(client, token)["detail"]


def test_wrong_issuer_is_401(client: TestClient) -> None:
    _assert_401(client, mint_dev_token(["iro"], issuer="evil"))


def test_token_without_subject_is_401(client: TestClient) -> None:
    claims = _claims()
    del claims["sub"]
    _assert_401(client, jwt.encode(claims, PLACEHOLDER_DEV_SECRET, algorithm="HS256"))


def test_role_entries_that_are_not_strings_are_ignored(client: TestClient) -> None:
    token = jwt.encode(
        _claims(roles=[{}, ["iro"], "iro"]), PLACEHOLDER_DEV_SECRET, algorithm="HS256"
    )
    response = client.get("/kit/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["roles"] == ["iro"]


@pytest.mark.parametrize("odd", [{"roles": "iro"}, {"name": 5}, {"email": {"x": 1}}])
def test_signed_token_with_claims_of_odd_types_is_401(client: TestClient, odd: dict) -> None:
    token = jwt.encode(_claims(**odd), PLACEHOLDER_DEV_SECRET, algorithm="HS256")
    _assert_401(client, token)


def test_garbage_token_is_401(client: TestClient) -> None:
    _assert_401(client, "not-a-jwt")


def test_valid_token_without_the_routes_role_is_403(client: TestClient) -> None:
    response = client.get("/kit/v1/managers-only", headers=bearer("iro", "admin"))
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "This route needs one of the roles: iro_manager."
    assert client.get("/kit/v1/managers-only", headers=bearer("iro_manager")).status_code == 200


def test_unknown_roles_in_the_claim_are_ignored(client: TestClient) -> None:
    response = client.get("/kit/v1/managers-only", headers=bearer("iro"))
    assert response.status_code == 403


# --- production: asymmetric keys -------------------------------------------------------------


def _rsa() -> tuple[Any, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public_pem.decode()


@pytest.fixture(scope="module")
def rsa_key() -> tuple[Any, str]:
    return _rsa()


@pytest.fixture
def production_client(
    make_app: Callable[..., FastAPI], rsa_key: tuple[Any, str]
) -> Iterator[TestClient]:
    _, public_pem = rsa_key
    app = make_app(
        environment="production",
        jwt_public_key=public_pem,
        jwt_issuer="https://idp.example",
        jwt_audience="iro-prod",
    )
    with TestClient(app) as test_client:
        yield test_client


PROD = {"iss": "https://idp.example", "aud": "iro-prod", "sub": "u-2", "roles": ["iro"]}


def test_production_accepts_rs256_signed_by_the_configured_key(
    production_client: TestClient, rsa_key: tuple[Any, str]
) -> None:
    private, _ = rsa_key
    token = jwt.encode(
        {**PROD, "iat": int(time.time()), "exp": int(time.time()) + 60}, private, algorithm="RS256"
    )
    response = production_client.get("/kit/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.json()["issuer"] == "https://idp.example"


def test_production_refuses_dev_hs256_tokens(production_client: TestClient) -> None:
    token = mint_dev_token(["iro"], issuer="https://idp.example", audience="iro-prod")
    assert "not accepted" in _assert_401(production_client, token)["detail"]


def test_production_refuses_hs256_signed_with_the_public_key(
    production_client: TestClient, rsa_key: tuple[Any, str]
) -> None:
    # The classic algorithm-confusion attack: HMAC keyed with the public PEM.
    _, public_pem = rsa_key
    header = {"alg": "HS256", "typ": "JWT"}
    import base64
    import hashlib
    import hmac

    def b64(raw: bytes) -> bytes:
        return base64.urlsafe_b64encode(raw).rstrip(b"=")

    signing_input = (
        b64(json.dumps(header).encode())
        + b"."
        + b64(json.dumps({**PROD, "iat": int(time.time()), "exp": int(time.time()) + 60}).encode())
    )
    signature = hmac.new(public_pem.encode(), signing_input, hashlib.sha256).digest()
    token = (signing_input + b"." + b64(signature)).decode()
    _assert_401(production_client, token)


def test_production_refuses_a_token_signed_by_another_key(production_client: TestClient) -> None:
    other, _ = _rsa()
    token = jwt.encode(
        {**PROD, "iat": int(time.time()), "exp": int(time.time()) + 60}, other, algorithm="RS256"
    )
    _assert_401(production_client, token)


class _JwksHandler(BaseHTTPRequestHandler):
    jwks: dict[str, Any] = {}
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = json.dumps(self.jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_production_verifies_es256_from_a_jwks_url_and_caches_keys(
    make_app: Callable[..., FastAPI],
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    _JwksHandler.jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "ES256"}]}
    _JwksHandler.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JwksHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
        app = make_app(
            environment="production",
            jwt_jwks_url=url,
            jwt_audience="iro-prod",
            jwt_issuer="https://idp.example",
        )
        token = jwt.encode(
            {**PROD, "iat": int(time.time()), "exp": int(time.time()) + 60},
            key,
            algorithm="ES256",
            headers={"kid": "k1"},
        )
        with TestClient(app) as client:
            for _ in range(3):
                response = client.get("/kit/v1/me", headers={"Authorization": f"Bearer {token}"})
                assert response.status_code == 200, response.text
            unknown_kid = jwt.encode(
                {**PROD, "iat": int(time.time()), "exp": int(time.time()) + 60},
                key,
                algorithm="ES256",
                headers={"kid": "k9"},
            )
            _assert_401(client, unknown_kid)
        assert 1 <= _JwksHandler.hits <= 2  # cached: once for k1, perhaps once more for k9
    finally:
        server.shutdown()


def test_settings_refuse_production_without_asymmetric_keys() -> None:
    with pytest.raises(ValidationError, match="public key or JWKS URL"):
        ServiceSettings(environment=Environment.production)


def test_settings_refuse_symmetric_algorithms_when_keys_are_configured(
    rsa_key: tuple[Any, str],
) -> None:
    with pytest.raises(ValidationError, match="asymmetric algorithms only"):
        ServiceSettings(jwt_public_key=rsa_key[1], jwt_algorithms=["RS256", "HS256"])
    with pytest.raises(ValidationError, match="asymmetric algorithms only"):
        ServiceSettings(jwt_public_key=rsa_key[1], jwt_algorithms=["none"])


def _dev(claims: dict[str, Any]) -> str:
    return jwt.encode(claims, PLACEHOLDER_DEV_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("odd", "detail"),
    [
        ({"exp": str(int(time.time()) + 600)}, "`exp` claim must be a number"),
        ({"iat": str(int(time.time()))}, "`iat` claim must be a number"),
        ({"sub": ""}, "`sub` claim must be a non-empty string"),
        ({"sub": "   "}, "`sub` claim must be a non-empty string"),
        ({"exp": int(time.time()) + 100 * 365 * 86400}, "lives longer than this platform accepts"),
        ({"sub": "officer\x00"}, "`sub` claim holds a control character"),
        ({"name": "A\nB"}, "`name` claim holds a control character"),
        ({"sub": "x" * 201}, "`sub` claim is over 200 characters"),
        ({"name": "N" * 201}, "`name` claim is over 200 characters"),
    ],
    ids=[
        "exp-numeric-string",
        "iat-numeric-string",
        "empty-sub",
        "blank-sub",
        "100-year-life",
        "nul-in-sub",
        "newline-in-name",
        "201-character-sub",
        "201-character-name",
    ],
)
def test_tokens_with_odd_dates_subjects_or_lifetimes_are_refused(
    client: TestClient, odd: dict[str, Any], detail: str
) -> None:
    body = _assert_401(client, _dev(_claims(**odd)))
    assert detail in body["detail"]


def test_a_token_without_iat_is_refused(client: TestClient) -> None:
    claims = _claims()
    del claims["iat"]
    _assert_401(client, _dev(claims))


def test_a_100_kb_token_is_refused(client: TestClient) -> None:
    body = _assert_401(client, _dev(_claims(padding="x" * 100_000)))
    assert "larger than this platform accepts" in body["detail"]


def test_a_token_within_the_limits_is_accepted(client: TestClient) -> None:
    token = _dev(_claims(exp=int(time.time()) + 23 * 3600, padding="x" * 2000))
    response = client.get("/kit/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
