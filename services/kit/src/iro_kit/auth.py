"""Bearer JWT verification (PyJWT) and role checks.

Production verifies RS256/ES256 with a configured public key or a JWKS URL; development
verifies HS256 with the dev secret, and only when settings say development. Issuer, audience,
subject, expiry and issue time are always required: `exp` and `iat` as numbers (not numeric
strings), `sub` non-empty, a lifetime (`exp - iat`) of at most `*_JWT_MAX_LIFETIME_SECONDS` and
a token of at most `*_JWT_MAX_TOKEN_BYTES`. Routes declare the roles they accept with
`require_roles(...)`; every route except health, metrics and docs depends on it, and for those
routes the request gate (iro_kit.middleware) verifies the token before the body is read.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, Any

import anyio
import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, Field, ValidationError
from starlette.types import Scope

from iro_kit.errors import Forbidden, Unauthorized
from iro_kit.settings import ServiceSettings
from iro_kit.text import refused_character

# The longest `sub`, `name` or `email` a token may carry: the columns that store them (e.g.
# `created_by`, `recorded_by_name`) hold 200 characters.
MAX_CLAIM_CHARACTERS = 200


class Role(StrEnum):
    iro = "iro"
    iro_manager = "iro_manager"
    business_support = "business_support"
    performance = "performance"
    integration = "integration"
    admin = "admin"


class Principal(BaseModel):
    """Who is calling, as the verified token says."""

    subject: str = Field(description="The token's `sub`: the user's or system's id.")
    name: str | None = Field(default=None, description="Display name, when the token has one.")
    email: str | None = None
    roles: list[Role] = Field(description="Roles from the `roles` claim that this platform knows.")
    issuer: str


# Tokens verified recently, kept so that a client's every request is not verified again (a
# signature check and the claims' rules: a tenth of a cheap read's time, more for RS256): up
# to this many, each for at most VERIFIED_FOR_SECONDS and never past its own expiry.
VERIFIED_TOKENS = 1024
VERIFIED_FOR_SECONDS = 60.0


class TokenVerifier:
    """Verifies a bearer token against one service's settings.

    A token once verified is answered from memory, by its whole text (a changed signature or
    claim is another token), until its `exp` (with the leeway PyJWT allows) or for
    `VERIFIED_FOR_SECONDS`, whichever comes first; then it is verified afresh, so a key taken
    out of the JWKS stops its tokens within a minute.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._jwks: jwt.PyJWKClient | None = None
        if settings.jwt_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url, cache_keys=True, lifespan=300)
        if settings.uses_asymmetric_keys:
            self._algorithms = list(settings.jwt_algorithms)
        else:
            self._algorithms = ["HS256"]

    async def _key_for(self, token: str) -> Any:
        settings = self._settings
        if self._jwks is not None:
            jwks = self._jwks
            signing_key = await anyio.to_thread.run_sync(jwks.get_signing_key_from_jwt, token)
            return signing_key.key
        if settings.jwt_public_key is not None:
            return settings.jwt_public_key.get_secret_value()
        if settings.is_development:
            return settings.jwt_dev_secret.get_secret_value()
        raise Unauthorized("No token verification key is configured.")

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            until, principal = known
            if time.time() < until:
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        principal, expires = await self._verify(token)
        self._verified[token] = (min(expires, time.time() + VERIFIED_FOR_SECONDS), principal)
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, float]:
        """The caller a token names and when it stops being valid, or Unauthorized."""
        if len(token) > self._settings.jwt_max_token_bytes:
            raise Unauthorized("The bearer token is larger than this platform accepts.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is malformed.") from exc
        if header.get("alg") not in self._algorithms:
            raise Unauthorized(f"Token algorithm {header.get('alg')!r} is not accepted.")
        try:
            key = await self._key_for(token)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=self._algorithms,
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                leeway=self._settings.jwt_leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The bearer token has expired.") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("The bearer token is not for this audience.") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("The bearer token's issuer is not trusted.") from exc
        except jwt.PyJWKClientError as exc:
            raise Unauthorized("The bearer token's signing key could not be found.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is invalid.") from exc
        self._check_claims(claims)
        known = {r.value for r in Role}
        raw_roles = claims.get("roles", [])
        if not isinstance(raw_roles, list):
            raise Unauthorized("The token's `roles` claim must be a list.")
        try:
            principal = Principal(
                subject=str(claims["sub"]),
                name=claims.get("name"),
                email=claims.get("email"),
                roles=[Role(r) for r in raw_roles if isinstance(r, str) and r in known],
                issuer=str(claims["iss"]),
            )
        except ValidationError as exc:
            raise Unauthorized("The token's claims are not of the expected types.") from exc
        # PyJWT refuses the token once `exp` is more than the leeway ago.
        return principal, float(claims["exp"]) + self._settings.jwt_leeway_seconds

    def _check_claims(self, claims: dict[str, Any]) -> None:
        """What PyJWT lets through: numeric strings as dates, an empty subject, any lifetime."""
        for name in ("exp", "iat"):
            value = claims[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Unauthorized(f"The token's `{name}` claim must be a number (a NumericDate).")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip():
            raise Unauthorized("The token's `sub` claim must be a non-empty string.")
        # `sub` and `name` are stored with what the caller writes (`created_by`, names on
        # records): held to the text rule and to the columns' length, so PostgreSQL and
        # SQLite store them alike.
        for name in ("sub", "name", "email"):
            value = claims.get(name)
            if not isinstance(value, str):
                continue
            if refused_character(value, single_line=True):
                raise Unauthorized(f"The token's `{name}` claim holds a control character.")
            if len(value) > MAX_CLAIM_CHARACTERS:
                raise Unauthorized(
                    f"The token's `{name}` claim is over {MAX_CLAIM_CHARACTERS} characters."
                )
        if claims["exp"] - claims["iat"] > self._settings.jwt_max_lifetime_seconds:
            raise Unauthorized(
                "The bearer token lives longer than this platform accepts "
                f"({self._settings.jwt_max_lifetime_seconds} seconds)."
            )


_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from the identity provider. Locally: `uv run iro token --role iro`.",
)


# Where the verified caller lives in the ASGI scope's state: set once per request, by
# `authenticate` (the request gate, before the body is read) or by `current_principal`.
PRINCIPAL_STATE = "principal"


def bearer_token(scope: Scope) -> str | None:
    """The credentials of an `Authorization: Bearer ...` header, as HTTPBearer reads them."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, credentials = get_authorization_scheme_param(value.decode("latin-1"))
            return credentials if scheme.lower() == "bearer" and credentials else None
    return None


async def authenticate(scope: Scope, verifier: TokenVerifier) -> Principal:
    """The verified caller of this request, verified at most once per request."""
    state = scope.setdefault("state", {})
    principal = state.get(PRINCIPAL_STATE)
    if isinstance(principal, Principal):
        return principal
    token = bearer_token(scope)
    if token is None:
        raise Unauthorized("A bearer token is required.")
    principal = await verifier.verify(token)
    state[PRINCIPAL_STATE] = principal
    return principal


async def current_principal(
    request: Request,
    # Read for the OpenAPI security scheme; the token itself is read by `authenticate`.
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return await authenticate(request.scope, request.app.state.token_verifier)


def needs_token(route: object) -> bool:
    """Whether a route depends, anywhere in its dependency tree, on `current_principal`."""
    dependant = getattr(route, "dependant", None)
    pending = [dependant] if dependant is not None else []
    while pending:
        node = pending.pop()
        if node.call is current_principal:
            return True
        pending.extend(node.dependencies)
    return False


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency accepting a caller who holds at least one of `roles` (any role if none)."""
    accepted = frozenset(roles)

    async def check(principal: CurrentPrincipal) -> Principal:
        if accepted and accepted.isdisjoint(principal.roles):
            names = ", ".join(sorted(r.value for r in accepted))
            raise Forbidden(f"This route needs one of the roles: {names}.")
        return principal

    # Read by iro_kit.access, which checks every route against its service's role table.
    check.accepted_roles = accepted  # type: ignore[attr-defined]
    return check
