"""`GET /<prefix>/v1/me`: who the caller is, for front ends to show who is signed in."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from iro_kit.auth import Principal, require_roles, roles_text
from iro_kit.errors import problem_responses


def identity_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=f"{prefix}/v1", tags=["identity"])

    @router.get(
        "/me",
        summary="The signed-in caller",
        description="The identity and roles carried by the caller's token. " + roles_text(),
        responses=problem_responses(401),
    )
    async def me(principal: Principal = Depends(require_roles())) -> Principal:
        return principal

    return router
