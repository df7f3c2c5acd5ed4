"""The drp-api app factory."""

import inspect
from pathlib import Path

from fastapi import FastAPI

import drp_api
from drp_api.settings import Settings
from iro_kit.app import ServiceSpec, create_service_app

PREFIX = "/drp"

SPEC = ServiceSpec(
    name="drp-api",
    prefix=PREFIX,
    title="IRO dispute resolution API",
    description=inspect.cleandoc(drp_api.__doc__ or ""),
    script_location=Path(__file__).resolve().parents[2] / "migrations",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings())
