"""Fuzz the three services' OpenAPI with schemathesis; run by `.ci/fuzz` (see there).

Each service is migrated into a SQLite file in a temporary directory and started alone with
`python -m <module> serve` on a loopback port, as tests/conftest.py does. Each operation is
called with a development token holding the roles its description lists (`Roles: ...`, from
iro_kit.auth.roles_text), so the fuzz reaches the handlers, not only the role check. The exit
code is non-zero when any check fails, schemathesis errors, or a service dies.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from iro_kit.auth import Role
from iro_kit.tokens import mint_dev_token
from iro_local.cli import REVIEWS_EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]
HOOKS = Path(__file__).resolve().parent / "fuzz_hooks.py"
SEED = 20261111
SERVICES = (
    ("reviews_api", "/reviews", "REVIEWS_"),
    ("drp_api", "/drp", "DRP_"),
    ("scorecard_api", "/scorecard", "SCORECARD_"),
)
# Every check of the pinned schemathesis runs (`--checks all`), none excluded. One is tuned:
# positive_data_acceptance also accepts 422 for a schema-valid request, because the domain's
# rules (dates in order, a stage after the last, a record as it is stored now) cannot be said
# in JSON Schema; the 422 must still be documented and a problem (the conformance checks).
# And 412: a well-formed If-Match (the disputes' transitions require one) that names a version
# the dispute does not have now is refused, and no schema can say which version is current.
# missing_required_header also accepts 428, RFC 6585's answer to a request without the
# precondition (If-Match) the route requires: API.md's "428 missing", not a 422.
EXCLUDED_CHECKS: dict[str, str] = {}
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429", "5xx"]

[checks.missing_required_header]
expected-statuses = ["400", "401", "403", "406", "415", "422", "428"]
"""


@dataclass
class Service:
    module: str
    prefix: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(workdir: Path) -> list[Service]:
    """Migrate and start the three services, wired to one another as `iro serve` wires them."""
    ports = {module: free_port() for module, _, _ in SERVICES}
    base = {module: f"http://127.0.0.1:{port}" for module, port in ports.items()}
    wiring = {
        "REVIEWS_EVENT_ROUTES": [
            {
                "subscriber": "drp-api",
                "url": f"{base['drp_api']}/drp/events",
                "types": ["child.changed", "iro.changed"],
            },
            {
                "subscriber": "scorecard-api",
                "url": f"{base['scorecard_api']}/scorecard/events",
                "types": REVIEWS_EVENT_TYPES,
            },
        ],
        "DRP_EVENT_ROUTES": [
            {
                "subscriber": "scorecard-api",
                "url": f"{base['scorecard_api']}/scorecard/events",
                "types": ["dispute.changed"],
            }
        ],
        "SCORECARD_PRODUCER_URLS": {
            "reviews-api": f"{base['reviews_api']}/reviews",
            "drp-api": f"{base['drp_api']}/drp",
        },
    }
    services: list[Service] = []
    for module, prefix, env_prefix in SERVICES:
        env = {
            **os.environ,
            **{name: json.dumps(value) for name, value in wiring.items()},
            f"{env_prefix}DATABASE_URL": f"sqlite+aiosqlite:///{workdir / module}.db",
            f"{env_prefix}ENVIRONMENT": "development",
        }
        subprocess.run([sys.executable, "-m", module, "migrate"], env=env, check=True)  # noqa: S603
        log = workdir / f"{module}.log"
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", module, "serve", "--port", str(ports[module])],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        services.append(Service(module, prefix, ports[module], process, log))
    for service in services:
        wait_live(service)
    return services


def wait_live(service: Service, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise SystemExit(f"fuzz: {service.module} exited: {service.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{service.base}{service.prefix}/health/live", timeout=1).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"fuzz: {service.module} did not become live in {timeout:.0f}s")


_ROLES = re.compile(r"Roles: ((?:`[a-z_]+`(?:, )?)+)\.")


def mint_tokens(schemas: list[dict[str, Any]]) -> dict[str, str]:
    """A token per role set the operations list, keyed as fuzz_hooks.roles_key keys them."""
    keys = {"*"}
    for schema in schemas:
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                match = _ROLES.search(operation.get("description") or "")
                if match:
                    keys.add(",".join(sorted(re.findall(r"`([a-z_]+)`", match.group(1)))))
    tokens = {}
    for key in keys:
        roles = list(Role) if key == "*" else key.split(",")
        tokens[key] = mint_dev_token(roles, subject="fuzz", name="Fuzz", ttl_seconds=6 * 3600)
    # The event inboxes take `integration` tokens of the producing services only.
    tokens["producer"] = mint_dev_token([Role.integration], subject="reviews-api", name=None)
    return tokens


def run_schemathesis(
    binary: str, service: Service, args: argparse.Namespace, workdir: Path, tokens: Path
) -> tuple[int, dict[str, Any], float]:
    report = workdir / f"{service.module}.report.json"
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        binary,
        "--config-file",
        str(config),
        "run",
        f"{service.base}{service.prefix}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(args.examples),
        "--seed",
        str(args.seed),
        "--workers",
        str(args.workers),
        "--generation-database",
        "none",
        "--request-timeout",
        "60",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    if EXCLUDED_CHECKS:
        command += ["--exclude-checks", ",".join(EXCLUDED_CHECKS)]
    if args.phases:
        command += ["--phases", args.phases]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "IRO_FUZZ_TOKENS": str(tokens)}
    started = time.monotonic()
    with (workdir / f"{service.module}.schemathesis.log").open("wb") as out:
        rc = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT).returncode  # noqa: S603
    elapsed = time.monotonic() - started
    data = json.loads(report.read_text()) if report.exists() else {}
    data["requests_served"] = service.log.read_text().count('"event": "request"')
    return rc, data, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="schemathesis over the three services")
    parser.add_argument("--schemathesis", required=True, help="the pinned schemathesis binary")
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FUZZ_EXAMPLES", 10)))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--phases", default=None, help="schemathesis phases (default: all)")
    parser.add_argument("--record", type=Path, default=None, help="write the figures here")
    parser.add_argument("--note", default=None, help="what code was fuzzed, for the record")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and reports here")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="iro-fuzz-")) if args.keep is None else args.keep
    workdir.mkdir(parents=True, exist_ok=True)
    services = start(workdir)
    figures: dict[str, Any] = {}
    failed = False
    started = time.monotonic()
    try:
        schemas = [httpx.get(f"{s.base}{s.prefix}/openapi.json").json() for s in services]
        tokens = workdir / "tokens.json"
        tokens.write_text(json.dumps(mint_tokens(schemas)))
        for service in services:
            rc, report, elapsed = run_schemathesis(
                args.schemathesis, service, args, workdir, tokens
            )
            figures[service.module] = summarise(report, rc, elapsed)
            line = figures[service.module]
            print(
                f"fuzz: {service.module}: {line['operations']} operations, "
                f"{line['requests']} requests, {line['failures']} failures, "
                f"{line['errors']} errors, exit {rc}, {elapsed:.0f}s",
                flush=True,
            )
            if rc != 0:
                show_failures(workdir / f"{service.module}.schemathesis.log")
            if service.process.poll() is not None:
                print(f"fuzz: {service.module} died during the run", flush=True)
                failed = True
            failed = failed or rc != 0
    finally:
        for service in services:
            service.process.terminate()
        for service in services:
            try:
                service.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                service.process.kill()
    total = time.monotonic() - started
    print(f"fuzz: logs and reports in {workdir}; {total:.0f}s", flush=True)
    if args.record is not None:
        record = {
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "code": args.note or git_describe(),
            "schemathesis": schemathesis_version(args.schemathesis),
            "seed": args.seed,
            "max_examples": args.examples,
            "workers": args.workers,
            "phases": args.phases or "all",
            "checks": "all",
            "excluded_checks": EXCLUDED_CHECKS,
            "seconds": round(total),
            "services": figures,
            "totals": {
                k: sum(f[k] for f in figures.values())
                for k in ("operations", "test_cases", "requests", "failures", "errors")
            },
        }
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(record, indent=2) + "\n")
        print(f"fuzz: figures written to {args.record}", flush=True)
    return 1 if failed else 0


def show_failures(log: Path) -> None:
    """Print schemathesis's failures, warnings and summary, so a CI log shows reproductions."""
    text = log.read_text(errors="replace")
    start = text.find("= FAILURES =")
    if start < 0:
        start = text.find("= ERRORS =")
    print(text[text.rfind("\n", 0, start) + 1 :] if start >= 0 else text[-6000:], flush=True)


def git_describe() -> str:
    """The commit fuzzed, and whether the tree had changes on top of it."""
    run = {"cwd": ROOT, "capture_output": True, "text": True}
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **run).stdout.strip()  # noqa: S607
    dirty = subprocess.run(["git", "status", "--porcelain"], **run).stdout.strip()  # noqa: S607
    return f"{head or 'unknown'}{' with uncommitted changes' if dirty else ''}"


def schemathesis_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout  # noqa: S603
    return out.strip().rsplit(" ", 1)[-1]


def summarise(report: dict[str, Any], rc: int, elapsed: float) -> dict[str, Any]:
    """The run's figures from schemathesis's JSON report and the service's request log."""
    cases = report.get("test_cases", {})
    return {
        "exit": rc,
        "seconds": round(elapsed),
        "operations": report.get("operations", {}).get("tested", 0),
        "test_cases": cases.get("generated", 0),
        "requests": report.get("requests_served", 0),
        "failures": cases.get("unique_failures", 0),
        "errors": len(report.get("errors", [])),
        "failures_by_kind": [
            {
                "code": f.get("code"),
                "title": f.get("title"),
                "count": f.get("count"),
                "operations": f.get("operations"),
            }
            for f in report.get("failures", [])
        ],
        "warnings": {k: v for k, v in report.get("warnings", {}).items() if v},
    }


if __name__ == "__main__":
    raise SystemExit(main())
