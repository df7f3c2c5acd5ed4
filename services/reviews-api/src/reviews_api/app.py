"""The reviews-api app factory."""

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

import reviews_api
from iro_kit.app import ServiceSpec, create_service_app
from iro_kit.audit_routes import audit_router
from reviews_api.access import ROUTES
from reviews_api.children.endpoints import router as children_router
from reviews_api.events.publish import EVENTS
from reviews_api.imports.background import imports_lifecycle
from reviews_api.imports.endpoints import router as imports_router
from reviews_api.integration.endpoints import router as integration_router
from reviews_api.iros.endpoints import router as iros_router
from reviews_api.models import AUDIT_TABLE, IDEMPOTENCY_TABLE
from reviews_api.plans.endpoints import router as plans_router
from reviews_api.problems import PROBLEMS
from reviews_api.reviews.endpoints import router as reviews_router
from reviews_api.rules_state import recompute_if_changed
from reviews_api.secure.endpoints import router as secure_router
from reviews_api.settings import Settings
from reviews_api.worklists.endpoints import router as worklists_router

PREFIX = "/reviews"

SPEC = ServiceSpec(
    name="reviews-api",
    prefix=PREFIX,
    title="IRO reviews API",
    description=inspect.cleandoc(reviews_api.__doc__ or ""),
    script_location=Path(__file__).resolve().parents[2] / "migrations",
    idempotency=IDEMPOTENCY_TABLE,
    audit=AUDIT_TABLE,
    events=EVENTS,
    routers=[
        children_router,
        reviews_router,
        iros_router,
        secure_router,
        worklists_router,
        plans_router,
        integration_router,
        imports_router,
        audit_router(PREFIX),
    ],
    tags=[
        {"name": "children", "description": "Children, episodes, periods of care, schedules."},
        {"name": "reviews", "description": "Booking and recording reviews; IRO visits."},
        {"name": "iros", "description": "IROs, allocations and caseloads."},
        {"name": "secure-accommodation", "description": "Secure placements and their reviews."},
        {"name": "worklists", "description": "Who needs what next, most urgent first."},
        {"name": "plans", "description": "Plan dates and annual outcomes from the case system."},
        {"name": "integration", "description": "Batches of case data pushed by a case system."},
        {"name": "imports", "description": "SSDA903 returns imported as background jobs."},
        {"name": "events-admin", "description": "Internal: the outbox, dead letters, republish."},
    ],
    roles=ROUTES,
    problems=PROBLEMS,
    # The API's version (the OpenAPI's info.version): 1.0.0 is the contract front ends build
    # on; from it no change may break a route without a new route version (iro_kit.contract).
    version="1.0.0",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(SPEC, settings)
    app.state.schedule_rules = settings.schedule_rules(app.state.calendar)
    # The rules check wraps the kit's lifespan and the imports wrap it: a stored chain is
    # recomputed (if the rules changed) before a job of a process that died resumes, so the
    # resumed job's chunk never holds SQLite's write lock while the check waits for it (the
    # check would give up after busy_timeout and the start would fail).
    _recompute_schedules_at_startup(app)
    _imports_lifecycle(app)
    return app


def _recompute_schedules_at_startup(app: FastAPI) -> None:
    """Before serving: if the schedule rules changed since the stored chains were computed
    (REVIEWS_MONTH_RULE, extra closure days, lead times, bank holidays), recompute them all."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            await recompute_if_changed(app.state.database, app.state.schedule_rules)
            yield

    app.router.lifespan_context = lifespan


def _imports_lifecycle(app: FastAPI) -> None:
    """Import jobs run in this process: before serving, reclaim the jobs of a process that died
    (resumed or failed, never left running), and again periodically; stop this process's jobs
    before the kit closes the database."""
    kit_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with kit_lifespan(app), imports_lifecycle(app):
            yield

    app.router.lifespan_context = lifespan
