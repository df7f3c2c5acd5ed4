"""Minting development tokens (HS256, dev secret). Never used by a service to verify."""

from __future__ import annotations

import time
from collections.abc import Sequence

import jwt

from iro_kit.auth import Role
from iro_kit.settings import PLACEHOLDER_DEV_SECRET


def mint_dev_token(
    roles: Sequence[Role | str],
    *,
    subject: str = "dev-user",
    name: str | None = "Dev User",
    secret: str = PLACEHOLDER_DEV_SECRET,
    issuer: str = "iro-dev",
    audience: str = "iro-platform",
    ttl_seconds: int = 8 * 3600,
    now: int | None = None,
) -> str:
    issued = int(time.time()) if now is None else now
    claims = {
        "sub": subject,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "roles": [Role(r).value for r in roles],
    }
    if name:
        claims["name"] = name
    return jwt.encode(claims, secret, algorithm="HS256")
