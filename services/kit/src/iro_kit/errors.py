"""RFC 9457 problem details: one exception hierarchy, mapped to HTTP by handlers.

Bodies never carry a stack trace, SQL or personal data: `detail` is safe for a user to read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import asyncpg.exceptions as pg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from iro_kit import problem_types
from iro_kit.logging import get_logger
from iro_kit.problem_types import PROBLEM_BASE

_log = get_logger("iro_kit.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


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
    # Every body against the catalogue of problem types (iro_kit.problem_types): cheap, and
    # what the catalogue does not describe fails the tests that produced it.
    problem_types.observe(slug or default_slug, status, body["title"], body)
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


def allowed_methods(request: Request) -> list[str]:
    """Every method a route of the app serves at the request's path.

    Starlette's 405 lists only the methods of the first route whose path matched, but a
    resource is served by one route per method (GET and POST `/children`): `Allow` must name
    them all (RFC 9110 15.5.6)."""
    path, root = request.scope["path"], request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and route.methods and regex.match(path):
            methods.update(route.methods)
    return sorted(methods)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and exc.detail == "Not Found":
        detail = "No route matches this path."
    elif isinstance(exc.detail, str):
        detail = exc.detail
    else:
        detail = _TITLES.get(exc.status_code, ("", "Error"))[1]
    if exc.status_code == 405 and (methods := allowed_methods(request)):
        headers["Allow"] = ", ".join(methods)
        detail = f"This path serves {', '.join(methods)} only."
    return problem_response(request, exc.status_code, detail, headers=headers)


async def _on_integrity(request: Request, exc: Exception) -> JSONResponse:
    # The database's message names constraints and quotes values: never send it on.
    return problem_response(
        request, 409, "The change conflicts with data already recorded.", slug="conflict"
    )


# What the database says when it is going away or not there yet, as opposed to what it says
# about a statement (a constraint, a syntax error, a missing table): only the first is a 503.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08",)  # connection exception: 08000, 08003, 08006...
_UNAVAILABLE_SQLSTATES = frozenset(
    {
        "57P01",  # admin_shutdown: pg_ctl stop/restart -m fast, pg_terminate_backend
        "57P02",  # crash_shutdown: another backend crashed, or -m immediate
        "57P03",  # cannot_connect_now: starting up, shutting down, in recovery
        "53300",  # too_many_connections
    }
)
_UNAVAILABLE_ASYNCPG = (
    pg.PostgresConnectionError,  # includes ConnectionDoesNotExistError
    pg.CannotConnectNowError,
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.TooManyConnectionsError,
)
# asyncpg's InterfaceError is also raised for misuse (wrong argument count, concurrent use);
# only these messages mean the connection is gone.
_CLOSED_CONNECTION = ("connection is closed", "connection was closed", "connection is lost")
_UNAVAILABLE_SQLITE = (
    "SQLITE_BUSY",  # database is locked by another writer beyond busy_timeout
    "SQLITE_LOCKED",
    "SQLITE_IOERR",  # disk I/O error
    "SQLITE_CANTOPEN",
    "SQLITE_FULL",
    "SQLITE_PROTOCOL",
)
_UNAVAILABLE_SQLITE_TEXT = ("database is locked", "disk i/o error", "unable to open database")
# An OSError is the database's only when a driver raised it: a bare ConnectionRefusedError
# from asyncpg.connect, not a FileNotFoundError from an export.
_DRIVER_MODULES = ("asyncpg", "aiosqlite", "sqlite3", "sqlalchemy.pool", "sqlalchemy.dialects")
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE_DETAIL = "The database is unavailable; try again shortly."
# PostgreSQL rolled the transaction back to break a deadlock or to keep a serialisable order:
# nothing was written, and the same request sent again is expected to succeed.
_CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
_CONFLICT_ASYNCPG = (pg.SerializationError, pg.DeadlockDetectedError)
CONFLICT_RETRY_AFTER_SECONDS = 1
TRANSACTION_CONFLICT_DETAIL = (
    "The change met another made at the same moment and was not saved; send it again."
)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception, what SQLAlchemy wrapped (`orig`) and what caused it, each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (
            getattr(current, "orig", None),
            current.__cause__,
            None if current.__suppress_context__ else current.__context__,
        ):
            if isinstance(linked, BaseException):
                pending.append(linked)


def _raised_by_driver(exc: BaseException) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        tb = tb.tb_next
    return False


def _says_unavailable(exc: BaseException, wrapped: bool) -> bool:
    if isinstance(exc, PoolTimeoutError):  # every pooled connection busy for pool_timeout
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:  # SQLAlchemy's own verdict
        return True
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and (
        sqlstate in _UNAVAILABLE_SQLSTATES or sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
    ):
        return True
    if isinstance(exc, _UNAVAILABLE_ASYNCPG):
        return True
    if isinstance(exc, pg.InterfaceError):
        return any(phrase in str(exc) for phrase in _CLOSED_CONNECTION)
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        text = str(exc).lower()
        return name.startswith(_UNAVAILABLE_SQLITE) or any(
            phrase in text for phrase in _UNAVAILABLE_SQLITE_TEXT
        )
    if isinstance(exc, OSError):  # ConnectionRefusedError, ConnectionResetError, TimeoutError...
        return wrapped or _raised_by_driver(exc)
    return False


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database cannot be reached now, not that the statement failed.

    Looks through the whole chain (SQLAlchemy's `orig`, `__cause__`, `__context__`) for a
    connection-level failure of asyncpg or aiosqlite: the server shutting down or starting up,
    a connection reset or closed, a refused connect, a pool timeout, SQLite locked or failing
    I/O. An integrity or syntax error is False, so it keeps its own answer (409, 500).
    """
    chain = list(_chain(exc))
    # An OSError a DBAPIError wraps is the driver's; a bare one must have come from its code.
    wrapped = any(isinstance(linked, DBAPIError) for linked in chain)
    return any(_says_unavailable(linked, wrapped) for linked in chain)


def transaction_conflict(exc: BaseException) -> bool:
    """True when the database rolled the transaction back for a deadlock or a serialisation
    failure (SQLSTATE 40P01, 40001): the request changed nothing and may be retried at once."""
    for linked in _chain(exc):
        sqlstate = getattr(linked, "sqlstate", None) or getattr(linked, "pgcode", None)
        if sqlstate in _CONFLICT_SQLSTATES or isinstance(linked, _CONFLICT_ASYNCPG):
            return True
    return False


def database_unavailable_response(request: Request) -> JSONResponse:
    """The 503 a client may retry after `Retry-After`; for middlewares outside the handlers."""
    return problem_response(
        request,
        503,
        DATABASE_UNAVAILABLE_DETAIL,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    if transaction_conflict(exc):
        _log.warning(
            "transaction_conflict",
            error_types=[type(linked).__qualname__ for linked in _chain(exc)],
        )
        return problem_response(
            request,
            503,
            TRANSACTION_CONFLICT_DETAIL,
            headers={"Retry-After": str(CONFLICT_RETRY_AFTER_SECONDS)},
        )
    if not database_unavailable(exc):
        # A failed statement, not an unreachable database: the request middleware's 500,
        # with the error's type and frames logged.
        raise exc
    _log.warning(
        "database_unavailable",
        error_types=[type(linked).__qualname__ for linked in _chain(exc)],
    )
    return database_unavailable_response(request)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(IntegrityError, _on_integrity)
    # DBAPIError covers OperationalError, InterfaceError, InternalError...; OSError covers a
    # driver's bare ConnectionRefusedError, ConnectionResetError and TimeoutError.
    for unavailable in (DBAPIError, PoolTimeoutError, OSError):
        app.add_exception_handler(unavailable, _on_database_error)
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
