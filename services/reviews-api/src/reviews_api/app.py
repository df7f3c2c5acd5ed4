"""The reviews-api app factory."""

import inspect
from pathlib import Path

from fastapi import FastAPI

import reviews_api
from iro_kit.app import ServiceSpec, create_service_app
from reviews_api.settings import Settings

PREFIX = "/reviews"

SPEC = ServiceSpec(
    name="reviews-api",
    prefix=PREFIX,
    title="IRO reviews API",
    description=inspect.cleandoc(reviews_api.__doc__ or ""),
    script_location=Path(__file__).resolve().parents[2] / "migrations",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or Settings())
