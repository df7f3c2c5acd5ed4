"""Records' versions as ETags (iro_kit.versioning): the response headers and their docs.

Every editable record (child, episode, review, visit, allocation, secure placement and secure
review, IRO) returns `ETag: "<version>"` when read, created or changed; changing or deleting
one needs `If-Match` with that ETag (428 without it, 412 when the record has changed since it
was read; both problems name `current_version`).
"""

from __future__ import annotations

from typing import Any, Protocol

from fastapi import Response

from iro_kit.errors import problem_responses
from iro_kit.versioning import IF_MATCH_REQUIRED, etag, etag_headers

__all__ = [
    "IF_MATCH_REQUIRED",
    "changed_responses",
    "created_responses",
    "deleted_responses",
    "read_responses",
    "with_etag",
]


class Versioned(Protocol):
    version: int


def with_etag(response: Response, record: Versioned) -> None:
    response.headers["ETag"] = etag(record.version)


def _preconditions() -> dict[int | str, dict[str, Any]]:
    documented = problem_responses(412, 428)
    documented[412]["description"] = (
        "The record has changed since it was read (`precondition-failed`): read it again. The "
        "problem adds `current_version`, the record's version now."
    )
    documented[428]["description"] = (
        "No If-Match, or `If-Match: *` (`precondition-required`). The problem adds "
        "`current_version`, the record's version now."
    )
    return documented


def read_responses(record: str, errors: dict[int | str, dict[str, Any]]) -> dict[int | str, Any]:
    return {200: {"headers": etag_headers(record)}, **errors}


def created_responses(record: str, errors: dict[int | str, dict[str, Any]]) -> dict[int | str, Any]:
    return {201: {"headers": etag_headers(record)}, **errors}


def changed_responses(record: str, errors: dict[int | str, dict[str, Any]]) -> dict[int | str, Any]:
    return {200: {"headers": etag_headers(record)}, **errors, **_preconditions()}


def deleted_responses(errors: dict[int | str, dict[str, Any]]) -> dict[int | str, Any]:
    return {**errors, **_preconditions()}
