"""The drp-api app factory."""

import inspect
from pathlib import Path

from fastapi import FastAPI

import drp_api
from drp_api.access import ROUTES
from drp_api.disputes.endpoints import router as disputes_router
from drp_api.events import EVENTS
from drp_api.models import AUDIT_TABLE, IDEMPOTENCY_TABLE
from drp_api.problems import PROBLEMS
from drp_api.settings import Settings
from drp_api.stats.endpoints import router as stats_router
from drp_api.tracker.endpoints import router as tracker_router
from drp_api.worklists.endpoints import router as worklists_router
from iro_kit.app import ServiceSpec, create_service_app
from iro_kit.audit_routes import audit_router

PREFIX = "/drp"

SPEC = ServiceSpec(
    name="drp-api",
    prefix=PREFIX,
    title="IRO dispute resolution API",
    description=inspect.cleandoc(drp_api.__doc__ or ""),
    script_location=Path(__file__).resolve().parents[2] / "migrations",
    idempotency=IDEMPOTENCY_TABLE,
    audit=AUDIT_TABLE,
    routers=[
        disputes_router,
        tracker_router,
        worklists_router,
        stats_router,
        audit_router(PREFIX),
    ],
    events=EVENTS,
    tags=[
        {
            "name": "disputes",
            "description": "Raising disputes and taking them through the five stages, with "
            "their append-only history.",
        },
        {"name": "tracker", "description": "The weekly tracker of open disputes."},
        {"name": "worklists", "description": "Stages due soon or overdue, most urgent first."},
        {"name": "statistics", "description": "Disputes over a period (annual report Table 4)."},
        {"name": "events", "description": "Internal: the inbox for reviews-api's events."},
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
    app.state.process_rules = settings.process_rules(app.state.calendar)
    return app
