"""The app factory every service uses: one place that wires settings, database, auth, errors,
logging, metrics, health, docs and the service's own routers."""

from __future__ import annotations

import gc
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry
from sqlalchemy import Table

from iro_kit import access, audit, idempotency, openapi_examples, problem_types
from iro_kit.access import RoleTable, check_roles
from iro_kit.auth import TokenVerifier
from iro_kit.calendar import WorkingDayCalendar
from iro_kit.cors import install_cors
from iro_kit.db import Database
from iro_kit.docs import install_docs
from iro_kit.errors import PROBLEM_MEDIA_TYPE, Problem, install_problem_handlers
from iro_kit.events.admin import admin_router
from iro_kit.events.inbox import inbox_router
from iro_kit.events.tracking import install as install_tracking
from iro_kit.events.wiring import EventSpec, build_outbox, build_relay, running
from iro_kit.health import health_router
from iro_kit.identity import identity_router
from iro_kit.logging import configure_logging, get_logger
from iro_kit.metrics import HttpMetrics, metrics_router
from iro_kit.middleware import RequestContextMiddleware, RequestGateMiddleware
from iro_kit.migrations import upgrade_to_head
from iro_kit.problem_types import KIT_TYPES, ProblemType
from iro_kit.settings import ServiceSettings
from iro_kit.startup import wait_for_database
from iro_kit.text import refuse_control_characters

_log = get_logger("iro_kit.app")


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    prefix: str
    title: str
    description: str
    script_location: Path
    version: str = "0.1.0"
    routers: Sequence[APIRouter] = ()
    tags: Sequence[dict[str, str]] = field(default_factory=tuple)
    events: EventSpec | None = None
    # The service's `idempotency_response` table (iro_kit.idempotency.idempotency_table):
    # every POST then honours an `Idempotency-Key` header.
    idempotency: Table | None = None
    # The service's append-only `audit_record` table (iro_kit.audit.audit_table): reads that
    # name children, and every write, are recorded.
    audit: Table | None = None
    # Every route of the service and the roles it accepts (iro_kit.access): checked against
    # what the routes enforce when the app is built, and rendered into their descriptions.
    # None only for the kit's own test probes.
    roles: RoleTable | None = None
    # The problem types the service's own code raises, beyond the kit's (iro_kit.problem_types).
    problems: Sequence[ProblemType] = ()


_KIT_TAGS = (
    {
        "name": "audit",
        "description": "Who read which child's record and who changed what (append-only).",
    },
    {"name": "identity", "description": "Who is calling."},
    {"name": "ops", "description": "Health and metrics, unauthenticated, for ops."},
)


def _operation_ids(prefix: str) -> Callable[[APIRoute], str]:
    """`<service>-<tag>-<name>` (API.md), the service named by its path prefix (`/reviews`):
    unique across the three services, so one generated client serves all of them."""
    service = prefix.strip("/").split("/")[0]

    def operation_id(route: APIRoute) -> str:
        tag = str(route.tags[0]) if route.tags else "default"
        return f"{service}-{tag}-{route.name.replace('_', '-')}"

    return operation_id


def create_service_app(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
    configure_logging(settings.log_level, json=settings.log_json)
    outbox = build_outbox(spec.name, spec.events, settings) if spec.events else None
    publisher = spec.events.publisher if spec.events else None
    if publisher is not None:
        install_tracking()
    database = Database(
        settings.database_url,
        outbox,
        publisher,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    metrics = HttpMetrics(spec.name)
    relay = None
    if outbox is not None and outbox.routes and settings.relay_in_process:
        relay = build_relay(spec.name, database, settings, metrics.registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The database may still be starting (a restart, a fresh deployment): wait with backoff
        # for up to database_wait_seconds instead of exiting.
        await wait_for_database(database, settings)
        if settings.migrate_on_startup:
            await anyio.to_thread.run_sync(
                upgrade_to_head, spec.script_location, settings.database_url
            )
        # Housekeeping once before serving, so the first request never waits behind it.
        await _housekeeping(spec, database, settings)
        # What start-up built lives as long as the process: keep it out of every collection.
        gc.freeze()
        _log.info("service_started", service=spec.name, environment=settings.environment.value)
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_housekeeping_hourly, spec, database, settings)
                try:
                    async with running(relay, settings.shutdown_grace_seconds):
                        yield
                finally:
                    tasks.cancel_scope.cancel()
        finally:
            await database.dispose()

    app = FastAPI(
        title=spec.title,
        description=spec.description,
        version=spec.version,
        # Swagger UI and ReDoc from packaged assets, not a CDN (iro_kit.docs).
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{spec.prefix}/openapi.json",
        openapi_tags=[*spec.tags, *_KIT_TAGS],
        generate_unique_id_function=_operation_ids(spec.prefix),
        # A redirect would come before auth and carry a raw path; one URL per resource instead.
        redirect_slashes=False,
        # One text rule for query and path parameters (iro_kit.text), on every route.
        dependencies=[Depends(refuse_control_characters)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.token_verifier = TokenVerifier(settings)
    app.state.calendar = WorkingDayCalendar(settings.extra_closure_days)
    app.state.metrics = metrics
    app.state.relay = relay
    # A relay on demand (tests drive one by hand; `python -m <service> relay` runs its own).
    app.state.relay_factory = lambda: build_relay(
        spec.name, database, settings, CollectorRegistry()
    )
    app.state.service = spec.name
    app.state.problem_types = (*KIT_TYPES, *spec.problems)

    install_problem_handlers(app)
    if spec.audit is not None:
        audit.install(app, spec.audit)
    if spec.idempotency is not None:
        idempotency.install(app, spec.idempotency)
    # Outside the Idempotency-Key middleware, which reads the body: no body is read before
    # the token is verified and the body's size is held to the service's limits.
    app.add_middleware(
        RequestGateMiddleware,
        verifier=app.state.token_verifier,
        max_json_bytes=settings.max_json_body_bytes,
        max_upload_bytes=settings.max_upload_body_bytes,
    )
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    # Outermost: preflights are answered before the gate, and its problems carry CORS headers.
    install_cors(app, settings.cors_allow_origins)

    install_docs(app, spec.prefix)
    app.include_router(health_router(spec.prefix, spec.name, spec.script_location))
    app.include_router(metrics_router(spec.prefix))
    app.include_router(identity_router(spec.prefix))
    for router in spec.routers:
        app.include_router(router)
    if spec.events is not None:
        app.include_router(admin_router(spec.prefix, spec.events.tables, spec.events.snapshot))
        if spec.events.handlers:
            app.include_router(
                inbox_router(
                    spec.prefix,
                    spec.events.tables,
                    spec.events.handlers,
                    lambda: settings.event_producers,
                    metrics.registry,
                    spec.events.batch_handlers,
                )
            )

    if spec.roles is not None:
        # Refuses to build the app when the table and the routes disagree.
        app.state.role_table = check_roles(app, spec.prefix, spec.roles)
    app.openapi = lambda: _openapi_with_problems(app)  # type: ignore[method-assign]
    return app


_HOUSEKEEPING_SECONDS = 3600.0


async def _housekeeping(spec: ServiceSpec, database: Database, settings: ServiceSettings) -> None:
    """Purge what has outlived its retention: idempotency responses, then audit records.

    Bounded, and never fatal: a purge that fails (the database is restarting) is logged and
    tried again within the hour.
    """
    with anyio.move_on_after(60):
        try:
            if spec.idempotency is not None:
                await idempotency.purge(database, spec.idempotency, settings)
            if spec.audit is not None:
                await audit.purge(database, spec.audit, settings)
        except Exception as exc:
            _log.warning("housekeeping_failed", error_type=type(exc).__qualname__)


async def _housekeeping_hourly(
    spec: ServiceSpec, database: Database, settings: ServiceSettings
) -> None:
    while True:
        await anyio.sleep(_HOUSEKEEPING_SECONDS)
        await _housekeeping(spec, database, settings)


_BODY_PROBLEMS = {"400": "Request is malformed", "413": "Request body too large"}
_AUTH_PROBLEMS = {
    "401": "Authentication required",
    "403": "Role not permitted",
    "503": "A dependency is unavailable",
}


def _openapi_with_problems(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, with RFC 9457 problems in place of its default 422 body."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(components["Problem"].pop("$defs", {}))
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    problem_content = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            # What any route may answer whatever its handler does (iro_kit.errors): a body that
            # is not JSON or is too large; no token, no role; the database unavailable.
            implied = {**(_BODY_PROBLEMS if "requestBody" in operation else {})}
            implied.update(_AUTH_PROBLEMS if operation.get("security") else {})
            for status, description in implied.items():
                responses.setdefault(status, {"description": description})
                responses[status].setdefault("content", problem_content)
            if "422" in responses:
                responses["422"] = {"description": "Request is invalid", "content": problem_content}
            for status, response in responses.items():
                if status.startswith(("4", "5")) and "content" in response:
                    response["content"] = problem_content
    if getattr(app.state, "idempotency_table", None) is not None:
        idempotency.document(schema)
    problem_types.document(schema, app.state.problem_types)
    role_table = getattr(app.state, "role_table", None)
    if role_table is not None:
        access.document(schema, role_table)
    _tidy_schema_names(schema)
    openapi_examples.restore_nulls(schema, app.routes)
    app.openapi_schema = schema
    return schema


_PAGE_NAME = re.compile(r"^Page_(\w+)_$")
_BODY_NAME = re.compile(r"^Body_(.+)$")


def _tidy_schema_names(schema: dict[str, Any]) -> None:
    """Component names a generated client can use as they are, the same in every service:
    `ChildReadPage` for pydantic's `Page_ChildRead_`, `ReviewsImportsImportSsda903Body` for
    FastAPI's `Body_reviews-imports-import-ssda903`; every `$ref` follows."""
    components = schema.get("components", {}).get("schemas", {})
    renamed: dict[str, str] = {}
    for name in components:
        if page := _PAGE_NAME.match(name):
            renamed[name] = f"{page.group(1)}Page"
        elif body := _BODY_NAME.match(name):
            words = re.split(r"[^A-Za-z0-9]+", body.group(1))
            renamed[name] = "".join(word[:1].upper() + word[1:] for word in words) + "Body"
    if not renamed:
        return
    clashes = set(renamed.values()) & (set(components) - set(renamed))
    if clashes:
        raise RuntimeError(f"OpenAPI component names would clash: {sorted(clashes)}")
    schema["components"]["schemas"] = {renamed.get(k, k): v for k, v in components.items()}
    refs = {
        f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in renamed.items()
    }

    def follow(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref in refs:
                node["$ref"] = refs[ref]
            for value in node.values():
                follow(value)
        elif isinstance(node, list):
            for value in node:
                follow(value)

    follow(schema)
    for name in renamed.values():
        # The title pydantic gave the envelope ("Page[ChildRead]") names it the same way.
        schema["components"]["schemas"][name]["title"] = name
