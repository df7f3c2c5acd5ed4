"""`python -m <service> serve|migrate`: run one service alone."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from iro_kit.app import ServiceSpec
from iro_kit.migrations import upgrade_to_head
from iro_kit.settings import ServiceSettings


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
    args = parser.parse_args(argv)

    settings = settings_factory()
    if args.command == "migrate":
        upgrade_to_head(spec.script_location, settings.database_url)
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
    )
