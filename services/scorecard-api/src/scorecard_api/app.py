"""The scorecard-api app factory."""

import dataclasses
import inspect
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request

import scorecard_api
from iro_kit.app import ServiceSpec, create_service_app
from iro_kit.audit_routes import audit_router
from iro_kit.auth import Principal, Role, require_roles
from iro_kit.calendar import WorkingDayCalendar
from iro_kit.db import SessionDep
from iro_kit.errors import problem_responses
from iro_kit.events.wiring import EventSpec
from iro_kit.types import UtcTimestamp
from scorecard_api.access import ROUTES
from scorecard_api.deps import Reader, freshness, install_freshness_header
from scorecard_api.models import AUDIT_TABLE, EVENT_TABLES, IDEMPOTENCY_TABLE
from scorecard_api.projections.handlers import batch_handlers, handlers
from scorecard_api.rebuild import Rebuilt, rebuild
from scorecard_api.report_routes import router as report_router
from scorecard_api.scorecard.endpoints import router as scorecard_router
from scorecard_api.scorecard.endpoints import targets_router
from scorecard_api.scorecard.trend import router as trend_router
from scorecard_api.settings import Settings
from scorecard_api.tables.endpoints import router as tables_router

PREFIX = "/scorecard"

freshness_router = APIRouter(prefix="/scorecard/v1", tags=["scorecard"])


@freshness_router.get(
    "/freshness",
    summary="How complete the facts are",
    description="The time of the newest event applied from each producer (null before any).",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "drp-api": "2026-12-02T09:51:20.117318Z",
                        "reviews-api": "2026-12-02T10:14:58.402318Z",
                    }
                }
            }
        },
        **problem_responses(401, 403),
    },
)
async def facts_freshness(session: SessionDep, _: Reader) -> dict[str, UtcTimestamp | None]:
    return await freshness(session)


rebuild_router = APIRouter(prefix="/scorecard/admin", tags=["events-admin"])


@rebuild_router.post(
    "/rebuild",
    summary="Rebuild the read models from the producers' events",
    description="Empties every projection, then asks reviews-api and drp-api to republish the "
    "state of everything they own; the relays deliver it and the figures come back as they "
    "were. Until they do, figures are incomplete (`X-Facts-Complete-To` says so). Not routed "
    "by the gateway.",
    responses=problem_responses(401, 403, 503),
)
async def rebuild_projections(
    request: Request, _: Annotated[Principal, Depends(require_roles(Role.admin))]
) -> Rebuilt:
    return await rebuild(request.app.state.database, request.app.state.settings)


SPEC = ServiceSpec(
    name="scorecard-api",
    prefix=PREFIX,
    title="IRO scorecard API",
    description=inspect.cleandoc(scorecard_api.__doc__ or ""),
    script_location=Path(__file__).resolve().parents[2] / "migrations",
    idempotency=IDEMPOTENCY_TABLE,
    audit=AUDIT_TABLE,
    routers=[
        scorecard_router,
        trend_router,
        freshness_router,
        tables_router,
        report_router,
        targets_router,
        rebuild_router,
        audit_router(PREFIX),
    ],
    tags=[
        {
            "name": "scorecard",
            "description": "The KPIs of KPIS.md as at any day, and the children behind each.",
        },
        {"name": "tables", "description": "The annual report's tables (KPIS.md)."},
        {"name": "annual-report", "description": "The annual report's pack for a year."},
        {"name": "targets", "description": "Targets, direction and RAG tolerance per KPI."},
        {"name": "events", "description": "Internal: the inbox for the producers' events."},
        {"name": "events-admin", "description": "Internal: inbox state and rebuilding."},
    ],
    roles=ROUTES,
    # The API's version (the OpenAPI's info.version): 1.0.0 is the contract front ends build
    # on; from it no change may break a route without a new route version (iro_kit.contract).
    version="1.0.0",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # The projections work out review chains with the deployment's calendar and month rule.
    rules = settings.schedule_rules(WorkingDayCalendar(settings.extra_closure_days))
    events = EventSpec(
        tables=EVENT_TABLES, handlers=handlers(rules), batch_handlers=batch_handlers(rules)
    )
    app = create_service_app(dataclasses.replace(SPEC, events=events), settings)
    install_freshness_header(app)
    return app
