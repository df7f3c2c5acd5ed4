"""Liveness and readiness, unauthenticated, for load balancers and ops."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from iro_kit.errors import ServiceUnavailable, problem_responses
from iro_kit.logging import get_logger
from iro_kit.migrations import current_revisions, head_revisions

_log = get_logger("iro_kit.health")


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"
    service: str


class Readiness(BaseModel):
    status: Literal["ready"] = "ready"
    service: str
    database: Literal["ok"] = "ok"
    migration: str


def health_router(prefix: str, service: str, script_location: Path) -> APIRouter:
    router = APIRouter(prefix=f"{prefix}/health", tags=["ops"])
    heads = head_revisions(script_location)
    # The examples name this service and its latest migration: what a ready instance answers.
    live_example = Liveness(service=service).model_dump()
    ready_example = Readiness(service=service, migration=",".join(sorted(heads))).model_dump()

    @router.get(
        "/live",
        summary="Liveness",
        description="200 while the process serves requests; touches no dependency. "
        "No authentication.",
        responses={200: {"content": {"application/json": {"example": live_example}}}},
    )
    async def live() -> Liveness:
        return Liveness(service=service)

    @router.get(
        "/ready",
        summary="Readiness",
        description="200 when the database answers and its schema is at the latest migration; "
        "otherwise 503 with a problem body and `Retry-After`. No authentication.",
        responses={
            200: {"content": {"application/json": {"example": ready_example}}},
            **problem_responses(503),
        },
    )
    async def ready(request: Request) -> Readiness:
        try:
            current = await current_revisions(request.app.state.database.engine)
        except Exception as exc:
            _log.warning("readiness_database_unreachable", error_type=type(exc).__name__)
            raise ServiceUnavailable("The database is unreachable.") from exc
        if current != heads:
            raise ServiceUnavailable(
                "The database schema is not at the latest migration "
                f"(at {sorted(current) or 'none'}, head {sorted(heads)})."
            )
        return Readiness(service=service, migration=",".join(sorted(current)))

    return router
