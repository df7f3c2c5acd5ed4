"""Optimistic concurrency on disputes: iro_kit.versioning, with the dispute named.

Two managers who read version 3 and both escalate: the first moves the dispute to version 4,
the second's `If-Match: "3"` no longer matches and gets a 412 naming version 4, and reads the
dispute again. Without If-Match a transition is a 428 naming the current version.
"""

from __future__ import annotations

from typing import Any, Final

from iro_kit.versioning import (
    IfMatch,
    check_version,
    current_version,
    etag,
    if_match_required,
    stale,
)

IF_MATCH_REQUIRED: Final[dict[str, Any]] = if_match_required("dispute")

__all__ = ["IF_MATCH_REQUIRED", "IfMatch", "check_version", "current_version", "etag", "stale"]
