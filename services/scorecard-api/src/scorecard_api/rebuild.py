"""Rebuilding the read models: empty them, then ask every producer to republish.

Producers republish the whole current state of every aggregate (their `admin/events/republish`
routes) and the relays deliver it as usual, so afterwards every figure is what it was.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete

from iro_kit.auth import Role
from iro_kit.db import Database
from iro_kit.errors import ServiceUnavailable
from iro_kit.tokens import mint_dev_token
from scorecard_api.models import PROJECTIONS
from scorecard_api.settings import Settings


class Rebuilt(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "emptied": [t.name for t in PROJECTIONS],
                "republished": {"drp-api": 96, "reviews-api": 2185},
            }
        }
    )
    emptied: list[str]
    republished: dict[str, int]


async def empty_projections(database: Database) -> list[str]:
    async with database.transaction() as session:
        for table in PROJECTIONS:
            await session.execute(delete(table))
    return [t.name for t in PROJECTIONS]


def _admin_token(settings: Settings) -> str:
    if settings.rebuild_token is not None:
        return settings.rebuild_token.get_secret_value()
    if not settings.is_development:
        raise ServiceUnavailable("No token to ask the producers to republish: set REBUILD_TOKEN.")
    return mint_dev_token(
        [Role.admin],
        subject="scorecard-api",
        name=None,
        secret=settings.jwt_dev_secret.get_secret_value(),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=600,
    )


async def request_republish(settings: Settings) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {_admin_token(settings)}"}
    counts: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=120, headers=headers) as client:
        for producer, base in sorted(settings.producer_urls.items()):
            try:
                response = await client.post(f"{base.rstrip('/')}/admin/events/republish")
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(
                    f"{producer} did not republish ({type(exc).__name__}); the read models are "
                    "empty: run the rebuild again once it is up."
                ) from exc
            counts[producer] = int(response.json()["events"])
    return counts


async def rebuild(database: Database, settings: Settings) -> Rebuilt:
    emptied = await empty_projections(database)
    return Rebuilt(emptied=emptied, republished=await request_republish(settings))
