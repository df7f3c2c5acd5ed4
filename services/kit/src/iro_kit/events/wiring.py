"""Putting a service's outbox, relay, inbox and admin routes together from its settings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from iro_kit.auth import Role
from iro_kit.db import Database
from iro_kit.events.admin import Snapshot
from iro_kit.events.inbox import BatchHandler, Handler
from iro_kit.events.outbox import Outbox
from iro_kit.events.relay import Relay, RelayMetrics, RelaySettings
from iro_kit.events.routing import load_routes
from iro_kit.events.schemas import EventState
from iro_kit.events.tables import EventTables
from iro_kit.events.tracking import Publisher
from iro_kit.settings import ServiceSettings
from iro_kit.tokens import mint_dev_token


@dataclass(frozen=True)
class EventSpec:
    """What a service says about events: its tables, what it consumes, how to snapshot."""

    tables: EventTables
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # optional, per type: a batch's events of that type at once (iro_kit.events.inbox)
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    publisher: Publisher | None = None  # publish changed aggregates at commit
    catalogue: Mapping[str, type[EventState]] = field(default_factory=dict)  # what it emits
    schema_dir: Path | None = None  # where the catalogue's JSON Schemas are committed


def build_outbox(service: str, spec: EventSpec, settings: ServiceSettings) -> Outbox:
    routes = load_routes(settings.event_routes, settings.event_routes_file)
    return Outbox(spec.tables, source=f"/{service}", routes=routes)


def relay_settings(settings: ServiceSettings) -> RelaySettings:
    return RelaySettings(
        batch_size=settings.relay_batch_size,
        concurrency=settings.relay_concurrency,
        poll_seconds=settings.relay_poll_seconds,
        max_attempts=settings.relay_max_attempts,
        backoff_base_seconds=settings.relay_backoff_base_seconds,
        backoff_cap_seconds=settings.relay_backoff_cap_seconds,
        retention_days=settings.outbox_retention_days,
    )


def relay_token(service: str, settings: ServiceSettings) -> Callable[[], str]:
    """The bearer token the relay presents to subscribers."""
    configured = settings.relay_token.get_secret_value() if settings.relay_token else ""
    if configured:
        return lambda: configured
    if not settings.is_development:
        raise ValueError("outside development the relay needs a token: set RELAY_TOKEN")
    cache: dict[str, tuple[str, float]] = {}

    def token() -> str:
        cached = cache.get("token")
        if cached is None or cached[1] < time.time() + 300:
            minted = mint_dev_token(
                [Role.integration],
                subject=service,
                name=None,
                secret=settings.jwt_dev_secret.get_secret_value(),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=3600,
            )
            cached = cache["token"] = (minted, time.time() + 3600)
        return cached[0]

    return token


def build_relay(
    service: str, database: Database, settings: ServiceSettings, registry: CollectorRegistry
) -> Relay:
    assert database.outbox is not None
    return Relay(
        database,
        database.outbox,
        relay_settings(settings),
        RelayMetrics(registry),
        relay_token(service, settings),
    )


@asynccontextmanager
async def running(relay: Relay | None, grace_seconds: float = 10.0) -> AsyncIterator[None]:
    """Run a relay as a background task for the duration of the block.

    At the end it is asked to stop and given `grace_seconds` to finish its batch.
    """
    if relay is None:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop), name="outbox-relay")
    try:
        yield
    finally:
        stop.set()
        relay.outbox.committed()  # wake it to see the stop
        try:
            await asyncio.wait_for(task, grace_seconds)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()  # a delivery still waiting on a subscriber: its rows go out later
        finally:
            await relay.client.aclose()
