"""The catalogue of problem types: every `type` URI a problem+json body can carry, with its
status, title, what it means and the extension members it adds to the RFC 9457 fields.

The kit registers the types its own handlers and middlewares answer; each service registers
its own (`<service>/problems.py`, `ServiceSpec.problems`). A slug means one thing everywhere:
registering it twice with another meaning is an error, so the three services' clients can
share one Problem type per slug.

Each service's OpenAPI carries the catalogue (`x-problem-types`: the kit's and its own), a
component schema for each type with extension members (`TransitionProblem`:
`current_state`, `allowed_transitions`...), and, on each error response, the schemas of the
types that have that status. Every body `problem_body` builds is checked against the catalogue
as it is built (`observe`): one of an unregistered type, with another status, or with an
extension member its type does not declare is remembered (`undocumented`), logged, and fails
the test run that produced it (the root conftest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from iro_kit.logging import get_logger

PROBLEM_BASE = "https://iro.example/problems/"
_log = get_logger("iro_kit.problem_types")


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str
    # The extension members the type adds, as a model (all optional unless always present).
    extension: type[BaseModel] | None = None

    @property
    def uri(self) -> str:
        return PROBLEM_BASE + self.slug

    @property
    def members(self) -> frozenset[str]:
        return frozenset(self.extension.model_fields) if self.extension else frozenset()


_CATALOGUE: dict[str, ProblemType] = {}
_UNDOCUMENTED: set[tuple[str, int, tuple[str, ...]]] = set()
# The RFC 9457 members and ours that every problem may carry (iro_kit.errors.Problem).
_BASE_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "errors"})


def register(*types: ProblemType) -> tuple[ProblemType, ...]:
    for kind in types:
        known = _CATALOGUE.get(kind.slug)
        if known is not None and known != kind:
            raise ValueError(f"problem type {kind.slug!r} is registered with two meanings")
        _CATALOGUE[kind.slug] = kind
    return types


def catalogue() -> Mapping[str, ProblemType]:
    return dict(_CATALOGUE)


def observe(slug: str, status: int, title: str, members: Iterable[str]) -> None:
    """Check one problem body as it is built; remember it when the catalogue does not say it
    (its slug, its status, its title or a member it carries)."""
    extra = tuple(sorted(set(members) - _BASE_MEMBERS))
    kind = _CATALOGUE.get(slug)
    said = kind is not None and (kind.status, kind.title) == (status, title)
    if not said or not set(extra) <= kind.members:
        entry = (slug, status, extra)
        if entry not in _UNDOCUMENTED:
            _UNDOCUMENTED.add(entry)
            # The type and the members' names only: never the body's detail.
            _log.warning("problem_type_uncatalogued", slug=slug, status=status, members=extra)


def undocumented() -> set[tuple[str, int, tuple[str, ...]]]:
    """(slug, status, extension members) of every problem built that the catalogue does not
    describe, since the process started."""
    return set(_UNDOCUMENTED)


class VersionProblem(BaseModel):
    current_version: int = Field(
        description="The record's version now: read it again, or send this as If-Match."
    )


class InternalErrorProblem(BaseModel):
    request_id: str | None = Field(
        default=None, description="The request's id, as in the logs: quote it to support."
    )


KIT_TYPES = register(
    ProblemType(
        "bad-request",
        400,
        "Request is malformed",
        "The body is not valid JSON, or the request line or a header could not be read.",
    ),
    ProblemType("unauthorized", 401, "Authentication required", "No valid bearer token."),
    ProblemType(
        "forbidden",
        403,
        "Role not permitted",
        "The token's roles do not include one the route "
        "accepts (the route's description lists them).",
    ),
    ProblemType("not-found", 404, "Not found", "No such route, or no such record."),
    ProblemType(
        "method-not-allowed",
        405,
        "Method not allowed",
        "The path does not serve this method; `Allow` lists those it does.",
    ),
    ProblemType(
        "not-acceptable",
        406,
        "Not acceptable",
        "None of the formats `Accept` (or `?format=`) asks for is one the route gives.",
    ),
    ProblemType(
        "conflict",
        409,
        "Conflicts with the current state",
        "The change conflicts with data already recorded.",
    ),
    ProblemType(
        "precondition-failed",
        412,
        "Precondition failed",
        "If-Match does not name the record's current version: it changed since it was read.",
        VersionProblem,
    ),
    ProblemType(
        "payload-too-large",
        413,
        "Request body too large",
        "The body, or a file in it, is larger than the service reads.",
    ),
    ProblemType(
        "uri-too-long", 414, "URI too long", "The gateway's limit on the request line's length."
    ),
    ProblemType(
        "unsupported-media-type",
        415,
        "Unsupported media type",
        "The body's Content-Type is not one the route reads.",
    ),
    ProblemType(
        "validation-error",
        422,
        "Request is invalid",
        "A field is missing or invalid; `errors` names each, with where it is and why.",
    ),
    ProblemType(
        "precondition-required",
        428,
        "Precondition required",
        "The route changes a record and needs If-Match with the record's ETag.",
        VersionProblem,
    ),
    ProblemType(
        "rate-limited",
        429,
        "Too many requests",
        "The gateway's rate limit: retry after `Retry-After` seconds.",
    ),
    ProblemType(
        "internal-error",
        500,
        "Internal error",
        "An error of ours, logged with the request id.",
        InternalErrorProblem,
    ),
    ProblemType(
        "service-unavailable",
        503,
        "A dependency is unavailable",
        "The database (or another dependency) is unavailable, or it rolled the change back "
        "to break a deadlock with another made at the same moment: nothing was half-written; "
        "retry after `Retry-After`.",
    ),
    ProblemType(
        "idempotency-key-reused",
        422,
        "Idempotency key reused",
        "The Idempotency-Key was used before, by this caller on this route, with another body.",
    ),
    ProblemType(
        "invalid-idempotency-key",
        422,
        "Idempotency-Key is invalid",
        "The Idempotency-Key header is not 1 to 200 visible ASCII characters (a UUID is ideal).",
    ),
    ProblemType(
        "idempotency-key-in-progress",
        409,
        "Request still in progress",
        "A request with the same Idempotency-Key is still running: retry when it has finished.",
    ),
)


def _component_name(kind: ProblemType) -> str:
    assert kind.extension is not None
    return kind.extension.__name__


def document(schema: dict[str, Any], types: Iterable[ProblemType]) -> None:
    """Put the catalogue of `types` into an OpenAPI document: `x-problem-types`, a component
    for each type with extension members, and on every problem response of a status the
    schemas of the types that have it."""
    types = sorted(set(types), key=lambda kind: (kind.status, kind.slug))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for kind in types:
        if kind.extension is None:
            continue
        extension = kind.extension.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(extension.pop("$defs", {}))
        components[_component_name(kind)] = {
            "allOf": [{"$ref": "#/components/schemas/Problem"}, extension],
            "title": _component_name(kind),
            "description": f"The `{kind.slug}` problem ({kind.status}): {kind.description}",
        }
    schema["x-problem-types"] = [
        {
            "type": kind.uri,
            "status": kind.status,
            "title": kind.title,
            "description": kind.description,
            **(
                {"schema": {"$ref": f"#/components/schemas/{_component_name(kind)}"}}
                if kind.extension
                else {}
            ),
        }
        for kind in types
    ]
    by_status: dict[str, list[ProblemType]] = {}
    for kind in types:
        by_status.setdefault(str(kind.status), []).append(kind)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/problem+json")
                if content is None:
                    continue
                kinds = by_status.get(status, [])
                extended = sorted({_component_name(k) for k in kinds if k.extension})
                if extended:
                    # A new content object: the documents share one for every plain problem.
                    refs = [{"$ref": f"#/components/schemas/{name}"} for name in extended]
                    response["content"] = {
                        **response["content"],
                        "application/problem+json": {
                            **content,
                            "schema": {"anyOf": [*refs, {"$ref": "#/components/schemas/Problem"}]},
                        },
                    }
                if kinds:
                    listed = ", ".join(f"`{k.slug}`" for k in kinds)
                    said = response.get("description", "").rstrip().rstrip(".")
                    sentence = f"Problem types of this status: {listed}."
                    response["description"] = f"{said}. {sentence}" if said else sentence
