"""A small service built with the kit's factory, with routes that exercise its behaviour."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.orm import Mapped, mapped_column

from iro_kit.app import ServiceSpec, create_service_app
from iro_kit.auth import Principal, Role, require_roles
from iro_kit.db import KitBase, SessionDep, new_metadata
from iro_kit.errors import Unprocessable, problem_responses
from iro_kit.migrations import upgrade_to_head
from iro_kit.settings import ServiceSettings

MIGRATIONS = Path(__file__).parent / "fixture_migrations"


class ReviewIn(BaseModel):
    held_on: date
    participation_code: str = Field(pattern=r"^PN[0-7]$")


class _Base(KitBase):
    __abstract__ = True
    metadata = new_metadata()


class Note(_Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(unique=True)


def _router() -> APIRouter:
    router = APIRouter(prefix="/kit/v1", tags=["probe"])

    @router.post("/reviews", status_code=201, responses=problem_responses(401, 403, 422))
    async def record_review(
        body: ReviewIn, _: Principal = Depends(require_roles(Role.iro, Role.iro_manager))
    ) -> ReviewIn:
        return body

    @router.get("/managers-only")
    async def managers_only(
        principal: Principal = Depends(require_roles(Role.iro_manager)),
    ) -> Principal:
        return principal

    @router.post("/notes", status_code=201)
    async def add_notes(labels: list[str], session: SessionDep, fail: bool = False) -> int:
        # Each insert is flushed at commit, after the handler returns: a duplicate label
        # fails the commit itself.
        for label in labels:
            await session.execute(
                text("INSERT INTO note (label) VALUES (:label)"), {"label": label}
            )
        if fail:
            raise Unprocessable("refused after writing")
        return len(labels)

    @router.get("/notes")
    async def list_notes(session: SessionDep) -> list[str]:
        rows = await session.execute(text("SELECT label FROM note ORDER BY label"))
        return list(rows.scalars())

    @router.get("/boom")
    async def boom(_: Principal = Depends(require_roles())) -> None:
        raise RuntimeError("SELECT name FROM child WHERE name = 'Jane Doe' -- 2011-02-03")

    return router


SPEC = ServiceSpec(
    name="kit-probe",
    prefix="/kit",
    title="Kit probe",
    description="A service that exists only in the kit's tests.",
    script_location=MIGRATIONS,
    routers=[_router()],
)


@pytest.fixture
def make_app(database_url: str) -> Callable[..., FastAPI]:
    def factory(migrate: bool = True, **overrides: Any) -> FastAPI:
        settings = ServiceSettings(
            database_url=overrides.pop("database_url", database_url), **overrides
        )
        if migrate:
            upgrade_to_head(MIGRATIONS, settings.database_url)
        return create_service_app(SPEC, settings)

    return factory


@pytest.fixture
def client(make_app: Callable[..., FastAPI]) -> Any:
    with TestClient(make_app(), raise_server_exceptions=False) as test_client:
        yield test_client
