"""Optimistic concurrency: a dispute's version is its ETag, and every change needs If-Match.

Two managers who read version 3 and both escalate: the first moves the dispute to version 4,
the second's `If-Match: "3"` no longer matches and gets a 412, and reads the dispute again.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Depends, Header

from iro_kit.errors import PreconditionFailed, PreconditionRequired

_ENTITY_TAG = re.compile(r'^"(\d{1,9})"$')
_IF_MATCH_PATTERN = r'^"\d{1,9}"( *, *"\d{1,9}")*$'  # one or more of our ETags


def etag(version: int) -> str:
    return f'"{version}"'


# Documented as a required header (IF_MATCH_REQUIRED) but read as an optional one: a missing
# If-Match is the 428 of RFC 6585, not the 422 FastAPI gives a missing required header.
IF_MATCH_REQUIRED: dict[str, Any] = {
    "parameters": [
        {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "description": 'The dispute\'s ETag as last read, e.g. `"3"`: 428 without it (or '
            "with `*`), 412 when it is not the dispute's current version (the dispute has "
            "changed since it was read).",
            "schema": {"type": "string", "pattern": _IF_MATCH_PATTERN},
            "example": '"3"',
        }
    ]
}


def _versions_matched(
    if_match: Annotated[str | None, Header(alias="If-Match", include_in_schema=False)] = None,
) -> frozenset[int]:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            'Send If-Match with the dispute\'s ETag as you last read it, e.g. If-Match: "3".'
        )
    tags = [tag.strip() for tag in if_match.split(",")]
    if "*" in tags:
        raise PreconditionRequired(
            "If-Match: * does not say which version you read; send the dispute's ETag."
        )
    return frozenset(int(m.group(1)) for tag in tags if (m := _ENTITY_TAG.match(tag)))


IfMatch = Annotated[frozenset[int], Depends(_versions_matched)]
"""The versions the caller's If-Match names (empty when none is a version of ours)."""


def check_version(current: int, if_match: frozenset[int]) -> None:
    if current not in if_match:
        raise stale()


def stale() -> PreconditionFailed:
    return PreconditionFailed(
        "The dispute has changed since you read it: read it again, then retry with its new ETag."
    )
