"""`GET /<prefix>/v1/me`: who the caller is, for front ends to show who is signed in."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from iro_kit.auth import Principal, require_roles
from iro_kit.errors import problem_responses

# What a signed-in IRO's token carries (iro_kit.auth.Principal); `issuer` is the deployment's.
ME_EXAMPLE = {
    "subject": "3f6b2a90-7c1e-4d5a-9b8f-2e4c6a1d0b37",
    "name": "Alex Morgan",
    "email": "alex.morgan@example.gov.uk",
    "roles": ["iro"],
    "issuer": "https://login.microsoftonline.com/9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f/v2.0",
}


def identity_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=f"{prefix}/v1", tags=["identity"])

    @router.get(
        "/me",
        summary="The signed-in caller",
        description="The identity and roles carried by the caller's token.",
        responses={
            200: {"content": {"application/json": {"example": ME_EXAMPLE}}},
            **problem_responses(401),
        },
    )
    async def me(principal: Principal = Depends(require_roles())) -> Principal:
        return principal

    return router
