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
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from iro_kit.app import ServiceSpec, create_service_app
from iro_kit.auth import Principal, Role, require_roles
from iro_kit.db import KitBase, SessionDep, new_metadata
from iro_kit.errors import Unprocessable, problem_responses
from iro_kit.events import CloudEvent, emit
from iro_kit.events.tables import event_tables
from iro_kit.events.wiring import EventSpec
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


class NoteCopy(_Base):
    """A consumer's projection of `note.changed`: the newest version wins."""

    __tablename__ = "note_copy"
    subject: Mapped[str] = mapped_column(primary_key=True)
    version: Mapped[int]
    label: Mapped[str]
    applied: Mapped[int]


EVENT_TABLES = event_tables(_Base.metadata)


async def apply_note(session: AsyncSession, event: CloudEvent) -> None:
    if event.data.get("poison"):
        raise ValueError("cannot apply this event")
    copy = await session.get(NoteCopy, event.subject)
    version = int(event.data["version"])
    if copy is None:
        session.add(
            NoteCopy(subject=event.subject, version=version, label=event.data["label"], applied=1)
        )
    elif version > copy.version:
        copy.version, copy.label, copy.applied = version, event.data["label"], copy.applied + 1
    await session.flush()


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
    async def add_notes(
        labels: list[str], session: SessionDep, fail: bool = False, nested: bool = False
    ) -> int:
        if nested:  # each label in a savepoint of its own, released before the failure
            for label in labels:
                async with session.begin_nested():
                    session.add(Note(label=label))
            raise Unprocessable("refused after writing")
        # Added, not flushed: the inserts reach the database at commit, after the handler
        # has returned, so a duplicate label fails the commit itself.
        session.add_all(Note(label=label) for label in labels)
        for label in labels:
            await emit(session, "note.changed", label, {"label": label, "version": 1})
        if fail:
            raise Unprocessable("refused after writing")
        return len(labels)

    @router.post("/note-events", status_code=201)
    async def note_event(body: dict[str, Any], session: SessionDep) -> str:
        event = await emit(session, "note.changed", body["subject"], body)
        return event.id

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
    events=EventSpec(tables=EVENT_TABLES, handlers={"note.changed": apply_note}),
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
