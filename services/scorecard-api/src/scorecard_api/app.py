"""The scorecard-api app factory."""

import inspect
from pathlib import Path

from fastapi import FastAPI

import scorecard_api
from iro_kit.app import ServiceSpec, create_service_app
from scorecard_api.settings import Settings

PREFIX = "/scorecard"

SPEC = ServiceSpec(
    name="scorecard-api",
    prefix=PREFIX,
    title="IRO scorecard API",
    description=inspect.cleandoc(scorecard_api.__doc__ or ""),
    script_location=Path(__file__).resolve().parents[2] / "migrations",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings())
