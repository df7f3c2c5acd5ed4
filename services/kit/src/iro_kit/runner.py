"""`python -m <service> serve|migrate|relay`: run one service alone.

On SIGTERM (a deployment, `docker stop`) `serve` stops accepting connections, lets in-flight
requests finish for up to `shutdown_grace_seconds`, then stops its in-process relay with the same
grace; `relay` finishes the batch it is delivering within the grace and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import signal
from collections.abc import Callable

from iro_kit.app import ServiceSpec
from iro_kit.db import Database
from iro_kit.events.schemas import write as write_schemas
from iro_kit.events.wiring import build_outbox, build_relay, running
from iro_kit.logging import configure_logging
from iro_kit.migrations import upgrade_to_head
from iro_kit.settings import ServiceSettings
from iro_kit.startup import wait_for_database


def service_main(
    spec: ServiceSpec,
    settings_factory: Callable[[], ServiceSettings],
    app_path: str,
    default_port: int,
    argv: list[str] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=spec.name, description=spec.title)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=default_port)
    serve.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="apply database migrations up to head")
    commands.add_parser("event-schemas", help="write JSON Schemas of new event versions")
    relay = commands.add_parser("relay", help="run the outbox relay as its own process")
    relay.add_argument("--metrics-port", type=int, default=None)
    args = parser.parse_args(argv)

    if args.command == "event-schemas":
        if spec.events is None or spec.events.schema_dir is None:
            raise SystemExit(f"{spec.name} has no event catalogue")
        for path in write_schemas(spec.events.catalogue, spec.events.schema_dir):
            print(f"wrote {path}")
        return
    settings = settings_factory()
    if args.command == "migrate":
        upgrade_to_head(spec.script_location, settings.database_url)
        return
    if args.command == "relay":
        asyncio.run(run_relay(spec, settings, args.metrics_port))
        return
    import uvicorn

    uvicorn.run(
        app_path,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=graceful_shutdown_seconds(settings),
    )


def graceful_shutdown_seconds(settings: ServiceSettings) -> int:
    """uvicorn's bound on in-flight requests after SIGTERM (it takes whole seconds)."""
    return math.ceil(settings.shutdown_grace_seconds)


async def run_relay(spec: ServiceSpec, settings: ServiceSettings, metrics_port: int | None) -> None:
    """Deliver the service's outbox until SIGTERM or SIGINT. Several may run on PostgreSQL."""
    from prometheus_client import CollectorRegistry, start_http_server

    configure_logging(settings.log_level, json=settings.log_json)
    if spec.events is None:
        raise SystemExit(f"{spec.name} publishes no events")
    database = Database(settings.database_url, build_outbox(spec.name, spec.events, settings))
    registry = CollectorRegistry()
    if metrics_port is not None:
        start_http_server(metrics_port, addr="127.0.0.1", registry=registry)
    relay = build_relay(spec.name, database, settings, registry)
    try:
        await wait_for_database(database, settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # `running` wakes the relay when asked to stop and gives it the grace to finish its
        # batch; an undelivered row simply goes out on the next start.
        async with running(relay, settings.shutdown_grace_seconds):
            await stop.wait()
    finally:
        await database.dispose()
