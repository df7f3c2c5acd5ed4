"""RFC 9457 problem details: one exception hierarchy, mapped to HTTP by handlers.

Bodies never carry a stack trace, SQL or personal data: `detail` is safe for a user to read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://iro.example/problems/"


class FieldProblem(BaseModel):
    pointer: str = Field(description="JSON pointer to the field, e.g. `/held_on`.")
    location: str = Field(description="Where the field is: `body`, `query`, `path` or `header`.")
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem details body."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": f"{PROBLEM_BASE}validation-error",
                "title": "Request is invalid",
                "status": 422,
                "detail": "1 field is invalid.",
                "instance": "/reviews/v1/children",
                "errors": [
                    {
                        "pointer": "/held_on",
                        "location": "body",
                        "message": "Input should be a valid date",
                    }
                ],
            }
        }
    )

    type: str = Field(description="A stable URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str = Field(description="The path of the request that failed.")
    errors: list[FieldProblem] | None = None


class ProblemError(Exception):
    """Raise from any layer; the handler turns it into problem+json."""

    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequest(ProblemError):
    status, slug, title = 400, "bad-request", "Request is malformed"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Role not permitted"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflicts with the current state"


class PreconditionFailed(ProblemError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PreconditionRequired(ProblemError):
    status, slug, title = 428, "precondition-required", "Precondition required"


class Unprocessable(ProblemError):
    status, slug, title = 422, "validation-error", "Request is invalid"


def invalid(
    pointer: str, message: str, *, slug: str | None = None, title: str | None = None
) -> Unprocessable:
    """A 422 naming one body field: `raise invalid("/held_on", "is in the future")`."""
    error = Unprocessable(
        f"{pointer.lstrip('/')}: {message}",
        errors=[FieldProblem(pointer=pointer, location="body", message=message)],
    )
    if slug:
        error.slug = slug
    if title:
        error.title = title
    return error


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "service-unavailable", "A dependency is unavailable"

    def __init__(self, detail: str, retry_after_seconds: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


_TITLES = {
    400: ("bad-request", "Request is malformed"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Role not permitted"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflicts with the current state"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Request is invalid"),
    428: ("precondition-required", "Precondition required"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal error"),
    503: ("service-unavailable", "A dependency is unavailable"),
}


def problem_body(
    status: int,
    detail: str,
    instance: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: Iterable[FieldProblem] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    default_slug, default_title = _TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (slug or default_slug),
        "title": title or default_title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    if errors:
        body["errors"] = [e.model_dump() for e in errors]
    if extra:
        body.update(extra)
    return body


def problem_response(
    request: Request, status: int, detail: str, headers: dict[str, str] | None = None, **kw: Any
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, detail, request.url.path, **kw),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_problems(exc: RequestValidationError) -> list[FieldProblem]:
    problems = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        location = loc[0] if loc else "body"
        path = loc[1:] if location in {"body", "query", "path", "header", "cookie"} else loc
        pointer = "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)
        problems.append(
            FieldProblem(pointer=pointer, location=location, message=err.get("msg", ""))
        )
    return problems


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request,
        exc.status,
        exc.detail,
        headers=exc.headers,
        slug=exc.slug,
        title=exc.title,
        errors=exc.errors,
        extra=exc.extra,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem_response(request, 400, "The request body is not valid JSON.")
    problems = _field_problems(exc)
    noun = "field is" if len(problems) == 1 else "fields are"
    named = ", ".join(p.pointer for p in problems)
    return problem_response(
        request, 422, f"{len(problems)} {noun} invalid: {named}.", errors=problems
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and exc.detail == "Not Found":
        detail = "No route matches this path."
    elif isinstance(exc.detail, str):
        detail = exc.detail
    else:
        detail = _TITLES.get(exc.status_code, ("", "Error"))[1]
    return problem_response(request, exc.status_code, detail, headers=dict(exc.headers or {}))


async def _on_integrity(request: Request, exc: Exception) -> JSONResponse:
    # The database's message names constraints and quotes values: never send it on.
    return problem_response(
        request, 409, "The change conflicts with data already recorded.", slug="conflict"
    )


async def _on_database_down(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        request,
        503,
        "The database is unavailable; try again shortly.",
        headers={"Retry-After": "5"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(IntegrityError, _on_integrity)
    for unavailable in (OperationalError, InterfaceError, ConnectionError, TimeoutError):
        app.add_exception_handler(unavailable, _on_database_down)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting problem bodies for the given statuses."""
    return {
        status: {
            "description": _TITLES.get(status, ("", "Error"))[1],
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
