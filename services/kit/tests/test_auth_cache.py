"""Verified tokens are remembered briefly, by their whole text, never past their expiry."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest

from iro_kit import auth
from iro_kit.auth import TokenVerifier
from iro_kit.errors import Unauthorized
from iro_kit.settings import ServiceSettings
from iro_kit.tokens import mint_dev_token


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tokens PyJWT was asked to verify, in order."""
    calls: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return calls


def _verifier(**overrides: Any) -> TokenVerifier:
    return TokenVerifier(ServiceSettings(environment="development", **overrides))


def test_a_token_is_verified_once_then_remembered(decoded: list[str]) -> None:
    verifier, token = _verifier(), mint_dev_token(["iro"])
    first = asyncio.run(verifier.verify(token))
    again = asyncio.run(verifier.verify(token))
    assert decoded == [token]
    assert again == first
    assert first.subject == "dev-user"


def test_a_remembered_token_is_verified_again_after_a_minute(
    decoded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier, token = _verifier(), mint_dev_token(["iro"])
    asyncio.run(verifier.verify(token))
    now = time.time()
    monkeypatch.setattr(auth.time, "time", lambda: now + auth.VERIFIED_FOR_SECONDS + 1)
    asyncio.run(verifier.verify(token))
    assert decoded == [token, token]


def test_a_remembered_token_is_refused_once_it_expires(decoded: list[str]) -> None:
    verifier = _verifier(jwt_leeway_seconds=0)
    issued = int(time.time())
    token = mint_dev_token(["iro"], now=issued, ttl_seconds=1)
    asyncio.run(verifier.verify(token))
    time.sleep(max(0.0, issued + 1 - time.time()) + 0.05)
    with pytest.raises(Unauthorized, match="expired"):
        asyncio.run(verifier.verify(token))
    assert decoded == [token, token]


def test_a_changed_signature_is_another_token_and_refused(decoded: list[str]) -> None:
    verifier, token = _verifier(), mint_dev_token(["iro"])
    asyncio.run(verifier.verify(token))
    head, body, signature = token.split(".")
    forged = ".".join([head, body, ("A" if signature[0] != "A" else "B") + signature[1:]])
    with pytest.raises(Unauthorized):
        asyncio.run(verifier.verify(forged))
    with pytest.raises(Unauthorized):  # and a refused token is not remembered either
        asyncio.run(verifier.verify(forged))
    assert decoded == [token, forged, forged]


def test_only_the_most_recent_tokens_are_remembered(
    decoded: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "VERIFIED_TOKENS", 2)
    verifier = _verifier()
    tokens = [mint_dev_token(["iro"], subject=f"user-{n}") for n in range(3)]
    for token in tokens:
        asyncio.run(verifier.verify(token))
    asyncio.run(verifier.verify(tokens[2]))  # remembered
    asyncio.run(verifier.verify(tokens[0]))  # the oldest, forgotten: verified again
    assert decoded == [*tokens, tokens[0]]
