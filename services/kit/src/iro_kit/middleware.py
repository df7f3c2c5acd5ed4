"""The ASGI middlewares every request passes, outside FastAPI's exception handling.

`RequestContextMiddleware`: request id, access log, metrics, last-resort 500 (an exception
nothing else handled becomes a problem+json 500, with no stack trace, SQL or personal data in
the body; the trace goes to the log, which holds ids only).

`RequestGateMiddleware`: before anything reads the body, a route that needs a token gets a
verified one or the request is a 401, and the body is held to the service's limits (413).
"""

from __future__ import annotations

import json
import re
import time
import traceback
import uuid

import structlog
from fastapi import params
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, compile_path, get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iro_kit.auth import TokenVerifier, authenticate, needs_token
from iro_kit.errors import PROBLEM_MEDIA_TYPE, ProblemError, problem_body
from iro_kit.metrics import HttpMetrics

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_log = structlog.get_logger("iro_kit.access")


def incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _REQUEST_ID.match(candidate) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming_request_id(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # The message of an exception can quote data (a constraint's values, a row):
            # log its type and where it was raised, never its text.
            _log.error(
                "unhandled_error",
                method=scope["method"],
                route=_route(scope, 500),
                error_type=type(exc).__qualname__,
                frames=_frames(exc),
            )
            status = 500
            if not response_started:
                await _send_internal_error(scope, send, request_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope, status)
            self.metrics.observe(scope["method"], route, status, elapsed)
            _log.info(
                "request",
                method=scope["method"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
            structlog.contextvars.clear_contextvars()


def _frames(exc: BaseException) -> list[str]:
    return [
        f"{frame.filename}:{frame.lineno} in {frame.name}"
        for frame in traceback.extract_tb(exc.__traceback__)
    ][-12:]


def _route(scope: Scope, status: int) -> str:
    """The route template (`/reviews/v1/children/{child_id}`), never raw ids or query strings.

    Routes that are not API routes (docs, openapi.json) have no parameters, so their path is
    their template; a path that matched nothing is `unmatched`, keeping label sets bounded.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    return "unmatched" if status in (404, 405) else scope.get("path", "unmatched")


async def _send_internal_error(scope: Scope, send: Send, request_id: str) -> None:
    body = problem_body(
        500,
        "Something went wrong on our side. Quote the request id if you report it.",
        scope.get("path", ""),
        extra={"request_id": request_id},
    )
    await _send_problem(send, 500, body, {"x-request-id": request_id})


async def _send_problem(
    send: Send, status: int, body: dict[str, object], headers: dict[str, str]
) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(raw)).encode()),
                *((name.lower().encode(), value.encode()) for name, value in headers.items()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


# -- the request gate: authentication and body limits before the body ---------------------


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes the limit. An HTTPException, so
    FastAPI's body parsing lets it through (it turns other errors into a 400) and the
    service's handler answers a 413 problem; the gate answers it if nothing else did."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_detail(limit))


def _too_large_detail(limit: int) -> str:
    return f"The request body is larger than this route accepts ({_size_text(limit)})."


def _size_text(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return f"{size} bytes"


class _RouteKind:
    __slots__ = ("needs_token", "upload")

    def __init__(self, route: BaseRoute | None) -> None:
        self.needs_token = route is not None and needs_token(route)
        body_field = getattr(route, "body_field", None)
        # File() is a kind of Form(): a multipart or form body is an upload.
        self.upload = body_field is not None and isinstance(body_field.field_info, params.Form)


class _IndexedRoute:
    """One route of the app, with what the gate needs to know about it."""

    __slots__ = ("kind", "methods", "regex", "route")

    def __init__(self, route: BaseRoute, prefix: str) -> None:
        self.route = route
        self.kind = _RouteKind(route)
        path = getattr(route, "path", None)
        self.regex = compile_path(prefix + path)[0] if prefix and isinstance(path, str) else None
        self.methods = getattr(route, "methods", None)

    def matches(self, scope: Scope) -> Match:
        if self.regex is None:
            return self.route.matches(scope)[0]
        if not self.regex.match(get_route_path(scope)):
            return Match.NONE
        return Match.PARTIAL if self.methods and scope["method"] not in self.methods else Match.FULL


def _index(routes: list[BaseRoute], prefix: str = "") -> list[_IndexedRoute]:
    """The app's routes in the router's order, FastAPI's lazily included routers unrolled."""
    indexed: list[_IndexedRoute] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            indexed += _index(included.routes, prefix + getattr(context, "prefix", ""))
        else:
            indexed.append(_IndexedRoute(route, prefix))
    return indexed


_NO_ROUTE = _RouteKind(None)


class RequestGateMiddleware:
    """Runs before any route, and before the Idempotency-Key middleware buffers the body.

    - A route that needs a token (every route but health, metrics and docs) without a valid
      one is answered 401 without `receive` ever being called: an unauthenticated body is
      never read, however large. The verified caller is left in the scope's state, where the
      route's `current_principal` finds it, so the token is verified once.
    - A `Content-Length` over the route's limit is a 413 at once; a body without one (chunked)
      is counted as it streams and cut off with a 413 when it passes the limit. Upload routes
      (multipart) have `*_MAX_UPLOAD_BODY_BYTES`, every other route `*_MAX_JSON_BODY_BYTES`.
    """

    def __init__(
        self, app: ASGIApp, verifier: TokenVerifier, max_json_bytes: int, max_upload_bytes: int
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self._routes: list[_IndexedRoute] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = self._kind(scope)
        if kind.needs_token:
            try:
                await authenticate(scope, self.verifier)
            except ProblemError as exc:
                await _send_problem(send, exc.status, _problem_of(exc, scope), exc.headers)
                return
        limit = self.max_upload_bytes if kind.upload else self.max_json_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_too_large(scope, send, limit)
            return
        await self._call_limited(scope, receive, send, limit)

    async def _call_limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge:
            # Raised outside the service's handlers (the Idempotency-Key middleware buffering
            # the body): answer it here, if nothing has been answered yet.
            if started:
                raise
            await _send_too_large(scope, send, limit)

    def _kind(self, scope: Scope) -> _RouteKind:
        """The route the router will pick: the first full match, as Starlette does. A path
        that matches only by another method, or nothing, is a 405 or 404 that reads no body."""
        if self._routes is None:  # routes are all included by the first request
            self._routes = _index(scope["app"].router.routes)
        for indexed in self._routes:
            if indexed.matches(scope) is Match.FULL:
                return indexed.kind
        return _NO_ROUTE


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _problem_of(exc: ProblemError, scope: Scope) -> dict[str, object]:
    return problem_body(
        exc.status,
        exc.detail,
        scope.get("path", ""),
        slug=exc.slug,
        title=exc.title,
        errors=exc.errors,
        extra=exc.extra,
    )


async def _send_too_large(scope: Scope, send: Send, limit: int) -> None:
    body = problem_body(413, _too_large_detail(limit), scope.get("path", ""))
    # The rest of the body is never read: the connection cannot carry another request.
    await _send_problem(send, 413, body, {"connection": "close"})
