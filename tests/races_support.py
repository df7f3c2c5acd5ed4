"""Firing truly overlapping requests, and counting what came back, for tests/test_fault_races.py.

A race is only a race if the requests are in the server at the same moment. `Racer` keeps one
thread per concurrent request, each with its own keep-alive client (so no request waits for a
TCP connect the others skipped), and releases them together from a barrier.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .conftest import show_figures

REQUEST_TIMEOUT = 30.0

# One request of a trial: (method, path, json body, headers).
Call = tuple[str, str, dict[str, Any] | None, dict[str, str]]


@dataclass
class Outcome:
    """One response, or the transport error that stood for it."""

    status: int | None
    body: Any
    headers: httpx.Headers
    seconds: float
    error: str | None = None

    @property
    def label(self) -> str:
        return str(self.status) if self.status is not None else (self.error or "error")


class Racer:
    """Up to `width` requests at once against `base_url`, released together."""

    def __init__(self, base_url: str, width: int) -> None:
        self.base_url = base_url
        self.width = width
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(width, thread_name_prefix="racer")

    def _client(self) -> httpx.Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def fire(self, calls: Sequence[Call]) -> list[Outcome]:
        """Send every call at once: each thread waits at a barrier, then sends."""
        assert len(calls) <= self.width
        barrier = threading.Barrier(len(calls), timeout=REQUEST_TIMEOUT)

        def send(call: Call) -> Outcome:
            method, path, body, headers = call
            client = self._client()
            barrier.wait()
            started = time.monotonic()
            try:
                response = client.request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                return Outcome(None, None, httpx.Headers(), time.monotonic() - started, repr(exc))
            try:
                parsed: Any = response.json()
            except ValueError:
                parsed = response.text
            return Outcome(
                response.status_code, parsed, response.headers, time.monotonic() - started
            )

        return list(self._pool.map(send, calls))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for client in self._clients:
            client.close()


@contextmanager
def racer(base_url: str, width: int) -> Iterator[Racer]:
    made = Racer(base_url, width)
    try:
        yield made
    finally:
        made.close()


@dataclass
class RaceFigures:
    """What one race did: trials, requests, statuses, latencies and broken invariants."""

    race: str
    database: str = "postgresql"
    trials: int = 0
    requests: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    extra: dict[str, Any] = field(default_factory=dict)

    def count(self, outcomes: Sequence[Outcome]) -> None:
        self.trials += 1
        self.requests += len(outcomes)
        self.by_status.update(o.label for o in outcomes)
        self.latencies.extend(o.seconds for o in outcomes)

    def check(self, trial: int, problems: list[str]) -> None:
        """Keep a trial's broken invariants: the race is judged on every trial, not the first."""
        if problems:
            self.violations.append({"trial": trial, "problems": problems})

    @property
    def server_errors(self) -> int:
        return sum(
            n for status, n in self.by_status.items() if not status.isdigit() or status[0] == "5"
        )

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def quantile(q: float) -> float | None:
            return round(ordered[int(q * (len(ordered) - 1))], 4) if ordered else None

        return {
            "race": self.race,
            "database": self.database,
            "trials": self.trials,
            "requests": self.requests,
            "by_status": dict(sorted(self.by_status.items())),
            "server_errors": self.server_errors,
            "violating_trials": len(self.violations),
            "violations_first": self.violations[:3],
            "latency_seconds": {"p50": quantile(0.5), "p95": quantile(0.95), "max": quantile(1)},
            "duration_seconds": round(time.monotonic() - self.started, 2),
            **self.extra,
        }


def record(
    figures: RaceFigures, workdir: Path, record_property: Callable[[str, str], None]
) -> None:
    """Print one JSON line per race and keep every race's figures in fault_races.json
    (`$IRO_FAULT_FIGURES_DIR`, else the test's temporary folder), as the other fault tests do."""
    summary = figures.summary()
    folder = Path(os.environ.get("IRO_FAULT_FIGURES_DIR") or workdir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "fault_races.json"
    kept: dict[str, Any] = {}
    if path.exists():
        try:
            kept = json.loads(path.read_text())
        except ValueError:
            kept = {}
    kept[figures.race] = summary
    path.write_text(json.dumps(kept, indent=2) + "\n")
    for key, value in summary.items():
        record_property(f"{figures.race}.{key}", json.dumps(value))
    show_figures(f"fault_races.{figures.race}", json.dumps(summary), path)
