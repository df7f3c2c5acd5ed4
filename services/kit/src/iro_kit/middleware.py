"""One ASGI middleware for every request: request id, access log, metrics, last-resort 500.

It sits outside FastAPI's exception handling, so an exception nothing else handled becomes a
problem+json 500 here, with no stack trace, SQL or personal data in the body (the trace goes to
the log, which holds ids only).
"""

from __future__ import annotations

import json
import re
import time
import traceback
import uuid

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iro_kit.errors import PROBLEM_MEDIA_TYPE, problem_body
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
    body = json.dumps(
        problem_body(
            500,
            "Something went wrong on our side. Quote the request id if you report it.",
            scope.get("path", ""),
            extra={"request_id": request_id},
        )
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
