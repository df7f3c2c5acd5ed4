"""`iro`: run the whole system locally, migrate it, and mint development tokens.

uv run iro serve                 # the three services on http://localhost:8000
uv run iro migrate               # apply every service's migrations (SQLite under var/)
uv run iro token --role iro_manager
uv run iro openapi [--check]     # write (or check) services/*/openapi.json and README roles
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from iro_kit.auth import Role
from iro_kit.tokens import mint_dev_token


def _services() -> list[tuple[object, object]]:
    from drp_api.app import SPEC as DRP
    from drp_api.settings import Settings as DrpSettings
    from reviews_api.app import SPEC as REVIEWS
    from reviews_api.settings import Settings as ReviewsSettings
    from scorecard_api.app import SPEC as SCORECARD
    from scorecard_api.settings import Settings as ScorecardSettings

    return [(REVIEWS, ReviewsSettings), (DRP, DrpSettings), (SCORECARD, ScorecardSettings)]


def migrate() -> None:
    from iro_kit.migrations import upgrade_to_head

    for spec, settings_cls in _services():
        settings = settings_cls()  # type: ignore[operator]
        upgrade_to_head(spec.script_location, settings.database_url)  # type: ignore[attr-defined]
        print(f"{spec.name}: migrated to head")  # type: ignore[attr-defined]


REVIEWS_EVENT_TYPES = [
    "child.changed",
    "iro.changed",
    "allocation.changed",
    "review.changed",
    "visit.changed",
    "plan.changed",
    "secure_review.changed",
]


def _local_base(host: str, port: int) -> str:
    reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host  # noqa: S104
    return f"http://{reachable}:{port}"


def local_event_routes(host: str, port: int) -> str:
    """The all-in-one run delivers reviews-api's events to itself, over HTTP, where it listens."""
    base = _local_base(host, port)
    return json.dumps(
        [
            {
                "subscriber": "drp-api",
                "url": f"{base}/drp/events",
                "types": ["child.changed", "iro.changed"],
            },
            {
                "subscriber": "scorecard-api",
                "url": f"{base}/scorecard/events",
                "types": REVIEWS_EVENT_TYPES,
            },
        ]
    )


def local_drp_event_routes(host: str, port: int) -> str:
    base = _local_base(host, port)
    return json.dumps(
        [
            {
                "subscriber": "scorecard-api",
                "url": f"{base}/scorecard/events",
                "types": ["dispute.changed"],
            }
        ]
    )


def local_producer_urls(host: str, port: int) -> str:
    """Where the scorecard asks the producers to republish when it rebuilds."""
    base = _local_base(host, port)
    return json.dumps({"reviews-api": f"{base}/reviews", "drp-api": f"{base}/drp"})


def serve(host: str, port: int, run_migrations: bool) -> None:
    import uvicorn

    os.environ.setdefault("REVIEWS_EVENT_ROUTES", local_event_routes(host, port))
    os.environ.setdefault("DRP_EVENT_ROUTES", local_drp_event_routes(host, port))
    os.environ.setdefault("SCORECARD_PRODUCER_URLS", local_producer_urls(host, port))
    if run_migrations:
        migrate()
    from iro_local import demo

    demo.start(_local_base(host, port), lambda line: print(line, flush=True))
    print(f"Serving on http://{host}:{port}  docs: /reviews/docs /drp/docs /scorecard/docs")
    uvicorn.run(
        "iro_local.combined:create_combined_app",
        factory=True,
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=shutdown_grace_seconds(),
    )


def shutdown_grace_seconds() -> int:
    """The longest grace any of the three asks for, since one process serves them all."""
    from iro_kit.runner import graceful_shutdown_seconds

    return max(graceful_shutdown_seconds(cls()) for _, cls in _services())  # type: ignore[operator]


def openapi_snapshots(check: bool) -> None:
    from iro_local import openapi

    if check:
        stale = openapi.stale()
        for path in stale:
            print(f"{path.relative_to(openapi.ROOT)}: differs from the code; run `make openapi`")
        if stale:
            sys.exit(1)
        print("openapi: the snapshots and the README's roles match the code")
        return
    written = [str(path.relative_to(openapi.ROOT)) for path in openapi.write()]
    print(f"openapi: wrote {', '.join(written)}" if written else "openapi: all up to date")


LOCAL_ENVIRONMENT = {f"{p}ENVIRONMENT": "development" for p in ("REVIEWS_", "DRP_", "SCORECARD_")}


def main(argv: list[str] | None = None) -> None:
    # The embedded local run is development unless the caller says otherwise.
    for name, value in LOCAL_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    parser = argparse.ArgumentParser(prog="iro", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the three services in one process")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument("--no-migrate", action="store_true", help="skip migrations at start")
    commands.add_parser("migrate", help="apply every service's migrations")
    token_cmd = commands.add_parser("token", help="print a development JWT for a role")
    token_cmd.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[r.value for r in Role],
        help="a role to grant (repeat for several)",
    )
    token_cmd.add_argument("--subject", default="dev-user")
    token_cmd.add_argument("--name", default="Dev User")
    token_cmd.add_argument("--hours", type=float, default=8.0)
    token_cmd.add_argument(
        "--secret", default=None, help="dev HS256 secret (default: REVIEWS_JWT_DEV_SECRET)"
    )
    openapi_cmd = commands.add_parser(
        "openapi", help="write the OpenAPI snapshots (services/*/openapi.json) and README roles"
    )
    openapi_cmd.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a snapshot is stale"
    )
    args = parser.parse_args(argv)

    if args.command == "serve":
        serve(args.host, args.port, not args.no_migrate)
    elif args.command == "migrate":
        migrate()
    elif args.command == "openapi":
        openapi_snapshots(check=args.check)
    else:
        from reviews_api.settings import Settings

        # The services share one dev secret, issuer and audience; reviews-api's settings say
        # which, so a token minted here verifies against what the services are configured with.
        settings = Settings()
        token = mint_dev_token(
            args.role,
            subject=args.subject,
            name=args.name,
            secret=args.secret or settings.jwt_dev_secret.get_secret_value(),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=int(args.hours * 3600),
        )
        sys.stdout.write(token + "\n")


if __name__ == "__main__":
    main()
