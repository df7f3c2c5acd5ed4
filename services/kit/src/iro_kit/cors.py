"""CORS for browser front ends on other origins: an allow-list from settings, none by default.

Installed outside every other middleware (iro_kit.app), so that a preflight is answered before
the request gate asks for a token (a browser never sends one on a preflight), and so that the
401, 413 and 500 problems our own middlewares answer carry the CORS headers too: without them
a front end could not read the problem, only a network error.

Requests from an origin that is not allowed pass through untouched, with no CORS headers at
all (Starlette's middleware alone would still send `Access-Control-Expose-Headers`, and answer
a preflight from a stranger with a plain-text 400). Behind the gateway, nginx applies its own
allow-list and drops these headers (deploy/gateway/templates/cors-headers.inc.template).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORS_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS")
CORS_REQUEST_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "Idempotency-Key",
    "X-Request-ID",
)
CORS_EXPOSED_HEADERS = ("ETag", "Location", "Content-Disposition", "X-Request-ID", "Retry-After")
# How long a browser may reuse a preflight's answer.
CORS_MAX_AGE_SECONDS = 600


def cors_origin_problem(origin: str) -> str | None:
    """Why `origin` can never match a browser's `Origin` header, or None if it can.

    A browser sends `scheme://host[:port]` in lower case with no path: a configured value
    with a trailing slash or capitals would silently allow nobody, and `*` would allow anyone.
    """
    if origin == "*":
        return "is a wildcard: list the front ends' origins instead"
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not an http(s) origin (https://host[:port])"
    if origin != f"{parts.scheme}://{parts.netloc}" or "@" in parts.netloc:
        return "has more than scheme://host[:port] (no path, trailing slash or user)"
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    if origin != origin.lower():
        return "must be lower case, as browsers send it"
    return None


class AllowListCORSMiddleware:
    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.cors = CORSMiddleware(
            app,
            allow_origins=list(origins),
            allow_methods=CORS_METHODS,
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=CORS_MAX_AGE_SECONDS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif _origin(scope) in self.origins:
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, _varying_on_origin(send))


def _origin(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            return value.decode("latin-1")
    return None


def _varying_on_origin(send: Send) -> Send:
    """A response without CORS headers still depends on the Origin: say so to caches."""

    async def send_varying(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).add_vary_header("Origin")
        await send(message)

    return send_varying


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Add the CORS middleware when origins are configured. Call after every other
    middleware is added, so that it is the outermost."""
    if origins:
        app.add_middleware(AllowListCORSMiddleware, origins=list(origins))
