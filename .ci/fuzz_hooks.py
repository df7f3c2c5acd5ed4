"""Schemathesis hooks for `.ci/fuzz`: a bearer token of the roles each operation accepts.

Loaded by schemathesis (SCHEMATHESIS_HOOKS) inside its own virtual environment, so it imports
nothing from the project. `.ci/fuzz.py` mints one token per role set and writes them, keyed by
the sorted role names joined with commas, to the JSON file named by IRO_FUZZ_TOKENS.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import schemathesis

TOKENS: dict[str, str] = json.loads(Path(os.environ["IRO_FUZZ_TOKENS"]).read_text())
# iro_kit.access.roles_sentence: "Roles: `iro`, `iro_manager`." or "Roles: any authenticated
# caller."
_ROLES_SENTENCE = re.compile(r"Roles: ((?:`[a-z_]+`(?:, )?)+|any authenticated caller)\.")
_ROLE = re.compile(r"`([a-z_]+)`")


def roles_key(description: str | None) -> str | None:
    """The token key for an operation's documented roles; None when it documents none."""
    if "one of the platform's producing services" in (description or ""):
        return "producer"  # the event inboxes: `integration`, with a producer's subject
    match = _ROLES_SENTENCE.search(description or "")
    if match is None:
        return None
    if match.group(1) == "any authenticated caller":
        return "*"
    return ",".join(sorted(_ROLE.findall(match.group(1))))


# Not cached (refresh_interval=None): a cached token would be the first operation's for all.
@schemathesis.auth(refresh_interval=None)
class RoleToken:
    """The token holding every role the operation lists (any role for "any caller")."""

    def get(self, case: Any, context: Any) -> str | None:
        raw = context.operation.definition.raw
        key = roles_key(raw.get("description"))
        if key is None:
            # A secured operation that names no roles takes any caller: every role, then.
            return TOKENS["*"] if raw.get("security") else None
        return TOKENS[key]

    def set(self, case: Any, data: str | None, context: Any) -> None:
        if data is not None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.check
def problem_type_is_documented(ctx: Any, response: Any, case: Any) -> None:
    """Every problem+json answer names a type of the service's catalogue (`x-problem-types`,
    iro_kit.problem_types), with the status the catalogue gives it."""
    media = (response.headers.get("content-type") or [""])[0]
    if not media.startswith("application/problem+json"):
        return
    body = json.loads(response.content or b"{}")
    catalogue = {
        entry["type"]: entry["status"]
        for entry in case.operation.schema.raw_schema.get("x-problem-types", [])
    }
    kind = body.get("type")
    if kind not in catalogue:
        raise AssertionError(f"problem type {kind!r} is not in the OpenAPI's x-problem-types")
    if catalogue[kind] != response.status_code:
        raise AssertionError(
            f"problem type {kind!r} is documented with status {catalogue[kind]}, "
            f"answered with {response.status_code}"
        )
