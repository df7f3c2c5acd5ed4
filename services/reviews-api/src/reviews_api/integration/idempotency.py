"""`Idempotency-Key`: a retried request gets the first response again, not a second change.

The key is scoped to the caller and the route. The first response is stored in the same
transaction as the change it reports, so a stored response always describes a committed change.
The same key with a different body is refused (422); two requests with one key at the same time:
the second fails on the key's unique constraint (409) and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.errors import FieldProblem, Unprocessable
from reviews_api.models import IdempotencyRecord


class KeyReused(Unprocessable):
    slug, title = "idempotency-key-reused", "Idempotency key reused"


def request_hash(raw_body: bytes) -> str:
    """A digest of the body's JSON content (key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(raw_body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        canonical = raw_body.decode("utf-8", "replace")
    return hashlib.sha256(canonical.encode()).hexdigest()


async def stored_response(
    session: AsyncSession, subject: str, route: str, key: str, digest: str
) -> IdempotencyRecord | None:
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.subject == subject,
            IdempotencyRecord.route == route,
            IdempotencyRecord.key == key,
        )
    )
    if record is not None and record.request_hash != digest:
        raise KeyReused(
            "This Idempotency-Key was used with a different request body; use a new key.",
            errors=[
                FieldProblem(
                    pointer="/Idempotency-Key",
                    location="header",
                    message="already used with another body",
                )
            ],
        )
    return record


async def store_response(
    session: AsyncSession,
    subject: str,
    route: str,
    key: str,
    digest: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    session.add(
        IdempotencyRecord(
            subject=subject,
            route=route,
            key=key,
            request_hash=digest,
            status_code=status_code,
            response=response,
        )
    )
    await session.flush()
