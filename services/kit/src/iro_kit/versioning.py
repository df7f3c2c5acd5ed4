"""Optimistic concurrency: a record's version is its ETag, and every change needs If-Match.

Two officers who read version 3 of a record and both save it: the first moves the record to
version 4, the second's `If-Match: "3"` no longer matches and gets a 412 naming the current
version, and reads the record again. Nobody's change is overwritten silently.

A route that changes or deletes a record:

- declares `openapi_extra=IF_MATCH_REQUIRED` (If-Match documented as the required header it
  is) and takes `if_match: IfMatch`, read as an optional header: a missing If-Match is the 428
  of RFC 6585, not the 422 FastAPI gives a missing required header;
- finds the record first (a 404 comes before a 428), then calls `claim_version`: 428 without
  If-Match, 412 when the record is at another version, both with the extension member
  `current_version`; otherwise the record moves to its next version with a conditional
  `UPDATE ... SET version = version + 1 WHERE id = :id AND version IN (:if_match)`, so two
  requests that read the same version cannot both win: under READ COMMITTED (the services'
  isolation level, and SQLite's serial writers) the second's UPDATE waits for the first's row
  lock, then matches no row and is a 412.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

from fastapi import Depends, Header
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from iro_kit.errors import FieldProblem, PreconditionFailed, PreconditionRequired, Unprocessable

_ENTITY_TAG = re.compile(r'^"(\d{1,9})"$')
IF_MATCH_PATTERN = r'^"\d{1,9}"( *, *"\d{1,9}")*$'  # one or more of our ETags


def etag(version: int) -> str:
    return f'"{version}"'


def etag_headers(record: str = "record") -> dict[str, Any]:
    """The `headers` of a documented response that carries the record's ETag."""
    return {
        "ETag": {
            "description": f'The {record}\'s version, e.g. `"3"`: send it as If-Match to change '
            f"the {record}.",
            "schema": {"type": "string"},
        }
    }


def if_match_required(record: str = "record") -> dict[str, Any]:
    """`openapi_extra` of a route that needs If-Match: the header, documented as required."""
    return {
        "parameters": [
            {
                "name": "If-Match",
                "in": "header",
                "required": True,
                "description": f'The {record}\'s ETag as last read, e.g. `"3"`: 428 without it '
                f"(or with `*`), 412 when it is not the {record}'s current version (the "
                f"{record} has changed since it was read). Both problems name the "
                f"`current_version`.",
                "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
                "example": '"3"',
            }
        ]
    }


# Documented as a required header (IF_MATCH_REQUIRED) but read as an optional one (IfMatch).
IF_MATCH_REQUIRED: Final[dict[str, Any]] = if_match_required()


def _versions_matched(
    if_match: Annotated[str | None, Header(alias="If-Match", include_in_schema=False)] = None,
) -> frozenset[int] | None:
    if if_match is None or not if_match.strip():
        return None
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:  # says "any version": not which one was read
        return None
    if not re.match(IF_MATCH_PATTERN, if_match.strip()):
        # What the documented pattern refuses, the route refuses, as a request error: a weak
        # tag, an unquoted number, a tag we never issue, something that is no entity tag.
        raise Unprocessable(
            'If-Match: is not one or more of the record\'s ETags, e.g. If-Match: "3".',
            errors=[
                FieldProblem(
                    pointer="/If-Match",
                    location="header",
                    message='must be one or more ETags as this service issues them, e.g. "3"',
                )
            ],
        )
    return frozenset(int(m.group(1)) for tag in tags if (m := _ENTITY_TAG.match(tag)))


async def _if_match(
    if_match: Annotated[str | None, Header(alias="If-Match", include_in_schema=False)] = None,
) -> frozenset[int] | None:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a hop for no I/O.
    return _versions_matched(if_match)


IfMatch = Annotated[frozenset[int] | None, Depends(_if_match)]
"""The versions the caller's If-Match names (empty when none is a version of ours); None when
the request has no If-Match, or `If-Match: *`."""


class _Unconditional:
    def __repr__(self) -> str:
        return "UNCONDITIONAL"


UNCONDITIONAL: Final = _Unconditional()
"""For `claim_version`: a change the service makes itself (an import, the case-system feed),
with no If-Match to check; the version still moves on."""

Precondition = frozenset[int] | None | _Unconditional


def precondition_required(current: int) -> PreconditionRequired:
    return PreconditionRequired(
        f"Send If-Match with the record's ETag as you last read it (not *); it is now "
        f'If-Match: "{current}".',
        extra={"current_version": current},
    )


def stale(current: int) -> PreconditionFailed:
    return PreconditionFailed(
        f"The record has changed since you read it (it is now version {current}): read it "
        "again, then retry with its new ETag.",
        extra={"current_version": current},
    )


def check_version(current: int, if_match: frozenset[int] | None) -> None:
    """428 without If-Match, 412 when it does not name `current`; both name `current`."""
    if if_match is None:
        raise precondition_required(current)
    if current not in if_match:
        raise stale(current)


async def current_version(session: AsyncSession, model: Any, record_id: Any) -> int | None:
    """The record's version as committed now (a fresh statement, not the session's copy)."""
    return await session.scalar(select(model.version).where(model.id == record_id))


async def claim_version(session: AsyncSession, record: Any, if_match: Precondition) -> int:
    """Check If-Match against the record as read, then move it to its next version atomically.

    `record` is an ORM object with `id` and `version` columns. The UPDATE is conditional on the
    version still being one If-Match names, so a request that read the same version as another
    and lost the race gets the 412 too. Returns the new version (also set on `record`)."""
    model = type(record)
    statement = update(model).where(model.id == record.id)
    if not isinstance(if_match, _Unconditional):
        check_version(record.version, if_match)
        statement = statement.where(model.version.in_(sorted(if_match)))
    claimed = await session.execute(
        statement.values(version=model.version + 1)
        .returning(model.version)
        .execution_options(synchronize_session=False)
    )
    new_version = claimed.scalar_one_or_none()
    if new_version is None:
        now = await current_version(session, model, record.id)
        raise stale(record.version if now is None else now)
    set_committed_value(record, "version", new_version)
    return new_version
