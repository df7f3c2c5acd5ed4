"""The three services in one ASGI app, each under its own prefix, for the embedded local run.

Paths are not rewritten: every service already serves under its prefix, so a URL is the same
here, against one service alone, and behind the gateway.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from contextlib import AsyncExitStack

from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from iro_kit.errors import PROBLEM_MEDIA_TYPE, problem_body
from iro_kit.middleware import incoming_request_id


class CombinedApp:
    def __init__(self, services: Sequence[tuple[str, FastAPI]]) -> None:
        self.services = list(services)

    def _service_for(self, path: str) -> FastAPI | None:
        for prefix, app in self.services:
            if path == prefix or path.startswith(prefix + "/"):
                return app
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        app = self._service_for(scope.get("path", ""))
        if app is not None:
            await app(scope, receive, send)
        elif scope["type"] == "http":
            await _not_found(scope, send, [p for p, _ in self.services])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        async with AsyncExitStack() as stack:
            try:
                for _, app in self.services:
                    await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            assert message["type"] == "lifespan.shutdown"
        await send({"type": "lifespan.shutdown.complete"})


async def _not_found(scope: Scope, send: Send, prefixes: list[str]) -> None:
    request_id = incoming_request_id(scope) or uuid.uuid4().hex
    detail = "No service serves this path. Services: " + ", ".join(f"{p}/docs" for p in prefixes)
    body = json.dumps(problem_body(404, detail, scope.get("path", ""))).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 404,
        "headers": [
            (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
            (b"x-request-id", request_id.encode()),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})


def create_combined_app() -> CombinedApp:
    from drp_api.app import PREFIX as DRP_PREFIX
    from drp_api.app import create_app as create_drp
    from reviews_api.app import PREFIX as REVIEWS_PREFIX
    from reviews_api.app import create_app as create_reviews
    from scorecard_api.app import PREFIX as SCORECARD_PREFIX
    from scorecard_api.app import create_app as create_scorecard

    return CombinedApp(
        [
            (REVIEWS_PREFIX, create_reviews()),
            (DRP_PREFIX, create_drp()),
            (SCORECARD_PREFIX, create_scorecard()),
        ]
    )
