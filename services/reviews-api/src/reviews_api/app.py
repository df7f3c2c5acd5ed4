"""The reviews-api app factory."""

import inspect
from pathlib import Path

from fastapi import FastAPI

import reviews_api
from iro_kit.app import ServiceSpec, create_service_app
from reviews_api.children.endpoints import router as children_router
from reviews_api.iros.endpoints import router as iros_router
from reviews_api.reviews.endpoints import router as reviews_router
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
    routers=[children_router, reviews_router, iros_router, secure_router, worklists_router],
    tags=[
        {"name": "children", "description": "Children, episodes, periods of care, schedules."},
        {"name": "reviews", "description": "Booking and recording reviews; IRO visits."},
        {"name": "iros", "description": "IROs, allocations and caseloads."},
        {"name": "secure-accommodation", "description": "Secure placements and their reviews."},
        {"name": "worklists", "description": "Who needs what next, most urgent first."},
    ],
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(SPEC, settings)
    app.state.schedule_rules = settings.schedule_rules(app.state.calendar)
    return app
