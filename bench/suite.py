"""Every benchmark, at one size level, with its baselines, targets and a regression check.

    uv run --frozen python bench/suite.py [--size reduced|full] [--only NAME ...]
    BENCH_SIZE=full make bench

Starts its own PostgreSQL 15 (a temporary data directory, a free loopback port, fsync off;
stopped at exit, even on failure) unless IRO_BENCH_POSTGRES_URL names an admin URL to use.
Runs each bench as a subprocess at the level's sizes and writes, per bench,
bench/results/<bench>-<size>.json (machine, UTC time, git commit, sizes, figures with their
baselines, ratios and targets, the commands) and bench/results/suite-<size>.json (every
figure, the growth table, the regressions). Before overwriting a bench's file it compares each
figure with the one recorded there (same size level): one worse by more than 20% is listed
under "regressions" and printed. Exit status 1 if a bench failed to produce figures (missed
targets and regressions are reported, not fatal: the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
REGRESSION = 0.20  # a figure worse than the last recorded one by more than this is reported
URL_PLACEHOLDER = "$IRO_BENCH_POSTGRES_URL"

# The sizes per level. full: the benches' own defaults (100,000 children where they say).
LEVELS: dict[str, dict[str, Any]] = {
    "reduced": {
        "schedule_children": 20_000,
        "growth_children": [1_000, 10_000],
        "worklist_requests": 200,
        "worklist_whole_requests": 5,
        "wrk_seconds": 5,
        "relay_events": 5_000,
        "relay_rate": 200,
        "relay_seconds": 5,
        "la_children": 3_000,
    },
    "full": {
        "schedule_children": 100_000,
        "growth_children": [1_000, 10_000, 100_000],
        "worklist_requests": 300,
        "worklist_whole_requests": 10,
        "wrk_seconds": 15,
        "relay_events": 20_000,
        "relay_rate": 200,
        "relay_seconds": 15,
        "la_children": 3_000,
    },
}


@dataclass
class Figure:
    """One measured figure. `ratio` is its cost relative to `baseline`: value/baseline when
    lower is better (seconds, ms), baseline/value when higher is better (events/s, rps)."""

    name: str
    value: float
    unit: str
    better: str  # "lower" or "higher"
    baseline: float | None = None
    baseline_name: str | None = None
    ratio: float | None = None
    target: str | None = None
    passed: bool | None = None
    command: str | None = None
    detail: str | None = None  # shown beside the value; not compared

    def __post_init__(self) -> None:
        if self.ratio is None and self.baseline:
            cost = self.value / self.baseline if self.better == "lower" else None
            if self.better == "higher" and self.value:
                cost = self.baseline / self.value
            self.ratio = round(cost, 2) if cost is not None else None


@dataclass
class Run:
    """One subprocess of a bench: its argv and where it writes its JSON record."""

    argv: list[str]
    out: Path | None
    size: int | None = None
    display: str = ""
    record: dict[str, Any] | None = None
    returncode: int | None = None
    seconds: float = 0.0


@dataclass
class BenchResult:
    name: str
    figures: list[Figure] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


# --- pure parts (tests/test_bench_suite.py) -------------------------------------------------


def worse_by(previous: float, current: float, better: str) -> float:
    """How much worse `current` is than `previous`, as a fraction (negative when better)."""
    if previous == 0:
        return 0.0
    if better == "lower":
        return (current - previous) / previous
    return (previous - current) / previous


def regressions(
    previous: list[dict[str, Any]], current: list[Figure], threshold: float = REGRESSION
) -> list[dict[str, Any]]:
    """Figures worse than the same-named figure recorded before by more than `threshold`."""
    before = {f["name"]: f for f in previous}
    found = []
    for figure in current:
        old = before.get(figure.name)
        if old is None or old.get("better") != figure.better or old.get("unit") != figure.unit:
            continue
        worse = worse_by(float(old["value"]), figure.value, figure.better)
        if worse > threshold:
            found.append(
                {
                    "name": figure.name,
                    "previous": old["value"],
                    "current": figure.value,
                    "unit": figure.unit,
                    "better": figure.better,
                    "worse_by_percent": round(worse * 100, 1),
                }
            )
    return found


def git_commit(cwd: Path = ROOT) -> str:
    """`git rev-parse HEAD`, with "-dirty" if the working tree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if status.strip() else "")


def metadata(size: str, sizes: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "size": size,
        "sizes": sizes,
        "date": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git_commit": git_commit(),
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
    }


def growth(rows: dict[str, dict[int, float]]) -> list[dict[str, Any]]:
    """Per figure, its value at each size and the ratio of each size's value to the last's."""
    table = []
    for name, by_size in rows.items():
        sizes = sorted(by_size)
        steps = [
            round(by_size[b] / by_size[a], 1) if by_size[a] else None
            for a, b in itertools.pairwise(sizes)
        ]
        table.append(
            {"figure": name, "values": {str(s): by_size[s] for s in sizes}, "steps": steps}
        )
    return table


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}".rstrip("0").rstrip(".")


def markdown(figures: list[Figure], table: list[dict[str, Any]]) -> str:
    lines = [
        "| figure | value | baseline | ratio | target | passed | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        baseline = f"{_fmt(f.baseline)} {f.unit} ({f.baseline_name})" if f.baseline else ""
        passed = {True: "yes", False: "**no**", None: ""}[f.passed]
        detail = f" ({f.detail})" if f.detail else ""
        lines.append(
            f"| {f.name} | {_fmt(f.value)} {f.unit}{detail} | {baseline} | "
            f"{_fmt(f.ratio) + 'x' if f.ratio else ''} | {f.target or ''} | {passed} | "
            f"`{f.command or ''}` |"
        )
    if table:
        sizes = sorted({int(s) for row in table for s in row["values"]})
        head = " | ".join(f"{s:,} children" for s in sizes)
        steps = " | ".join(f"x{b // a} step" for a, b in itertools.pairwise(sizes))
        lines += ["", f"| growth | {head} | {steps} |", "|---" * (1 + 2 * len(sizes) - 1) + "|"]
        for row in table:
            cells = " | ".join(_fmt(row["values"].get(str(s))) for s in sizes)
            ratio = " | ".join(f"{r}x" if r else "" for r in row["steps"])
            lines.append(f"| {row['figure']} | {cells} | {ratio} |")
    return "\n".join(lines) + "\n"


# --- figures from each bench's records -----------------------------------------------------


def schedule_figures(runs: list[Run]) -> list[Figure]:
    r = runs[0].record or {}
    children = r["children"]
    return [
        Figure(
            f"schedule: {children:,} schedules, best of {r['runs']}",
            r["seconds_best"],
            "s",
            "lower",
            r["bare_seconds_best"],
            "bare pass of the calendar lookups",
            target=f"< {r['target_seconds']:g} s; ≤ {r['target_ratio_to_bare']:g}x bare",
            passed=r["passed"] and r["passed_ratio"],
            command=runs[0].display,
        )
    ]


def import_figures(runs: list[Run]) -> list[Figure]:
    figures = []
    for run in runs:
        r = run.record or {}
        n = r["children"]
        figures.append(
            Figure(
                f"import: SSDA903 return, {n:,} children",
                r["import_seconds"],
                "s",
                "lower",
                r["copy_seconds"],
                "csv + COPY of the same rows",
                target=f"< {r['target_seconds']:g} s; ≤ 3x COPY (issue 15, reported)",
                passed=r["import_seconds"] < r["target_seconds"],
                command=run.display,
            )
        )
        figures.append(
            Figure(
                f"import: peak memory, {n:,} children",
                r["peak_rss_mb"],
                "MB",
                "lower",
                target=f"< {r['target_peak_mb']} MB",
                passed=r["peak_rss_mb"] < r["target_peak_mb"],
                command=run.display,
            )
        )
    return figures


def worklist_figures(runs: list[Run]) -> list[Figure]:
    figures = []
    for run in runs:
        r = run.record or {}
        n = r["children"]
        whole = r["whole_authority"]
        figures.append(
            Figure(
                f"worklist: one IRO's, p95, {n:,} children",
                r["ms_p95"],
                "ms",
                "lower",
                target=f"< {r['target_ms_p95']:g} ms p95 (at 100,000)",
                passed=r["passed"],
                command=run.display,
            )
        )
        figures.append(
            Figure(
                f"worklist: whole authority's (no iro_id), p50, {n:,} children",
                whole["ms_p50"],
                "ms",
                "lower",
                command=run.display,
            )
        )
        wrk = r.get("concurrent")
        if not wrk:
            continue
        bare = wrk["bare_pk"]
        figures.append(
            Figure(
                f"bare FastAPI primary-key read via nginx, wrk -c16, {n:,} children",
                bare["rps"],
                "rps",
                "higher",
                command=run.display,
            )
        )
        for key, what in (
            ("worklist_one_iro", "one IRO's worklist"),
            ("child_schedule", "child schedule read"),
            ("child_read", "child record read (token, audit, one row)"),
        ):
            if key not in wrk:  # recorded before the record read was measured
                continue
            w = wrk[key]
            figures.append(
                Figure(
                    f"{what} via nginx, wrk -c16, {n:,} children",
                    w["rps"],
                    "rps",
                    "higher",
                    bare["rps"],
                    "bare primary-key endpoint",
                    passed=w["non_2xx"] == 0 and w["socket_errors"] == 0,
                    target="no errors",
                    command=run.display,
                )
            )
            figures.append(
                Figure(
                    f"{what} via nginx, wrk -c16, p95, {n:,} children",
                    w["ms_p95"],
                    "ms",
                    "lower",
                    bare["ms_p95"],
                    "bare primary-key endpoint p95",
                    command=run.display,
                    detail=f"p50 {w['ms_p50']:g} ms, p99 {w['ms_p99']:g} ms",
                )
            )
    return figures


def relay_figures(runs: list[Run]) -> list[Figure]:
    relay, bare = runs[0].record or {}, runs[1].record or {}
    throughput, lag = relay["throughput"], relay["lag"]
    targets = relay["targets"]
    return [
        Figure(
            f"relay: throughput, {throughput['events']:,} events",
            throughput["events_per_second"],
            "events/s",
            "higher",
            bare["events_per_second"],
            "bare relay (bare_relay.py)",
            target=f"≥ {targets['events_per_second']:,} events/s",
            passed=throughput["events_per_second"] >= targets["events_per_second"],
            command=runs[0].display + "  # baseline: " + runs[1].display,
        ),
        Figure(
            f"relay: lag p95 at {lag['rate_per_second']}/s",
            lag["ms_p95"],
            "ms",
            "lower",
            target=f"< {targets['lag_ms_p95']} ms",
            passed=lag["ms_p95"] < targets["lag_ms_p95"],
            command=runs[0].display,
        ),
    ]


def scorecard_figures(runs: list[Run]) -> list[Figure]:
    figures = []
    for run in runs:
        r = run.record or {}
        large = r["large"]
        n = large["children"]
        baseline = large["baselines"]["count_review"]["seconds_median"]
        at_100k = n == 100_000
        for key, what, target in (
            ("full_scorecard", "full scorecard", r["targets"]["full_scorecard_100k_seconds"]),
            ("trend", "12-month trend of one KPI", r["targets"]["trend_12_months_100k_seconds"]),
        ):
            figures.append(
                Figure(
                    f"scorecard: {what}, {n:,} children",
                    large[key]["seconds_median"],
                    "s",
                    "lower",
                    baseline,
                    "count(*) review",
                    target=f"< {target:g} s (at 100,000)",
                    passed=large[key]["passed"] if at_100k else None,
                    command=run.display,
                )
            )
    last = runs[-1].record or {}
    la = last["la"]
    figures.append(
        Figure(
            f"scorecard: full scorecard, LA size ({la['children']:,} children)",
            la["full_scorecard"]["seconds_median"],
            "s",
            "lower",
            la["baselines"]["count_review"]["seconds_median"],
            "count(*) review",
            target=f"< {last['targets']['full_scorecard_la_seconds']:g} s",
            passed=la["full_scorecard"]["passed"],
            command=runs[-1].display,
        )
    )
    return figures


def growth_rows(results: dict[str, BenchResult]) -> dict[str, dict[int, float]]:
    rows: dict[str, dict[int, float]] = {}

    def add(name: str, run: Run, value: float) -> None:
        if run.size is not None:
            rows.setdefault(name, {})[run.size] = value

    for run in results.get("import_903", BenchResult("")).runs:
        if run.record:
            add("import (s)", run, run.record["import_seconds"])
    for run in results.get("worklist", BenchResult("")).runs:
        if run.record:
            add("worklist, whole authority, p50 (ms)", run, run.record["whole_authority"]["ms_p50"])
            add("worklist, one IRO, p50 (ms)", run, run.record["ms_p50"])
    for run in results.get("scorecard", BenchResult("")).runs:
        if run.record:
            add("scorecard, full (s)", run, run.record["large"]["full_scorecard"]["seconds_median"])
    return rows


# --- PostgreSQL -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["su", "postgres", "-s", "/bin/bash", "-c", shlex.join(command)]
    return command


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """An admin URL: IRO_BENCH_POSTGRES_URL if set, else a PostgreSQL 15 of our own."""
    given = os.environ.get("IRO_BENCH_POSTGRES_URL")
    if given:
        yield given
        return
    if not (PG_BIN / "pg_ctl").exists():
        raise SystemExit(f"PostgreSQL 15 not found in {PG_BIN}; set IRO_BENCH_POSTGRES_URL")
    root = Path(tempfile.mkdtemp(prefix="iro-bench-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E"]
    subprocess.run(
        _as_postgres([*initdb, "UTF8", "--no-sync"]), check=True, stdout=subprocess.DEVNULL
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", options]
    started = False
    try:
        subprocess.run(_as_postgres([*ctl, "-w", "start"]), check=True, stdout=subprocess.DEVNULL)
        started = True
        print(f"suite: PostgreSQL 15 on 127.0.0.1:{port} (data in {data}, fsync off)", flush=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            stop = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
            subprocess.run(_as_postgres(stop), stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(root, ignore_errors=True)


# --- running --------------------------------------------------------------------------------


def _script(name: str, *args: object) -> list[str]:
    return [sys.executable, str(BENCH / name), *(str(a) for a in args)]


def _display(argv: list[str], url: str) -> str:
    """The command that reproduces a run, as a newcomer would type it."""
    shown = ["uv run --frozen python", f"bench/{Path(argv[1]).name}"]
    skip = False
    for arg in argv[2:]:
        if skip:
            skip = False
            continue
        if arg == "--json-out":
            skip = True
            continue
        shown.append(URL_PLACEHOLDER if arg == url else shlex.quote(arg))
    return " ".join(shown)


def plan(size: str, url: str, tmp: Path, wrk: bool) -> dict[str, tuple[list[Run], Callable]]:
    level = LEVELS[size]
    sizes = level["growth_children"]

    def run(name: str, *args: object, size: int | None = None) -> Run:
        out = tmp / f"{Path(name).stem}-{size or 0}.json"
        argv = _script(name, *args, "--json-out", out)
        return Run(argv, out, size, _display(argv, url))

    pg = ("--postgres-url", url)
    worklist = [
        run(
            "worklist_bench.py",
            *pg,
            "--children",
            n,
            "--requests",
            level["worklist_requests"],
            "--whole-requests",
            level["worklist_whole_requests"],
            "--wrk-seconds",
            level["wrk_seconds"] if wrk and n == sizes[-1] else 0,
            size=n,
        )
        for n in sizes
    ]
    relay_argv = _script(
        "relay_bench.py",
        *pg,
        "--events",
        level["relay_events"],
        "--rate",
        level["relay_rate"],
        "--seconds",
        level["relay_seconds"],
    )
    return {
        "schedule": (
            [run("schedule_bench.py", "--children", level["schedule_children"], "--runs", 3)],
            schedule_figures,
        ),
        "import_903": (
            [run("import_903_bench.py", *pg, "--children", n, size=n) for n in sizes],
            import_figures,
        ),
        "worklist": (worklist, worklist_figures),
        "relay": (
            [
                # relay_bench.py writes bench/results/relay.json itself (kept as it was).
                Run(relay_argv, RESULTS / "relay.json", None, _display(relay_argv, url)),
                run("bare_relay.py", *pg, "--events", level["relay_events"]),
            ],
            relay_figures,
        ),
        "scorecard": (
            [
                run(
                    "scorecard_bench.py",
                    *pg,
                    "--children",
                    n,
                    "--la-children",
                    level["la_children"],
                    size=n,
                )
                for n in sizes
            ],
            scorecard_figures,
        ),
    }


def execute(run: Run, url: str) -> None:
    print(f"suite: {run.display}", flush=True)
    kept = run.out.read_bytes() if run.out and run.out.exists() else None
    if run.out and run.out.parent == RESULTS and run.out.exists():
        run.out.unlink()
    started = time.perf_counter()
    env = {**os.environ, "IRO_BENCH_POSTGRES_URL": url}
    completed = subprocess.run(run.argv, cwd=ROOT, env=env, check=False)
    run.seconds = round(time.perf_counter() - started, 1)
    run.returncode = completed.returncode
    if run.out and run.out.exists():
        run.record = json.loads(run.out.read_text())
    if run.out and run.out.parent == RESULTS and kept is not None:
        run.out.write_bytes(kept)  # a bench's own file keeps its recorded (full) figures


def _previous(path: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads(path.read_text()).get("figures", []))
    except (OSError, ValueError):
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(LEVELS), default="reduced")
    parser.add_argument("--only", nargs="*", help="run only these benches (and record them)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    wrk = shutil.which("wrk") is not None
    if not wrk:
        print(
            "suite: wrk is not installed, so the concurrent worklist figures are SKIPPED "
            "(apt-get update -qq && apt-get install -y -qq wrk)",
            flush=True,
        )
    results: dict[str, BenchResult] = {}
    all_regressions: list[dict[str, Any]] = []
    with postgres() as url, tempfile.TemporaryDirectory(prefix="iro-bench-") as tmp:
        for name, (runs, figures_of) in plan(args.size, url, Path(tmp), wrk).items():
            if args.only and name not in args.only:
                continue
            result = results[name] = BenchResult(name, runs=runs)
            for run in runs:
                execute(run, url)
            result.seconds = round(sum(r.seconds for r in runs), 1)
            missing = [r.display for r in runs if r.record is None]
            if missing:
                result.error = f"no results from: {'; '.join(missing)}"
                print(f"suite: {name} FAILED: {result.error}", flush=True)
                continue
            try:
                result.figures = figures_of(runs)
            except (KeyError, TypeError, IndexError) as error:
                result.error = f"unexpected results: {error!r}"
                continue
            path = RESULTS / f"{name}-{args.size}.json"
            found = regressions(_previous(path), result.figures)
            all_regressions += [{"bench": name, **r} for r in found]
            record = {
                "bench": name,
                **metadata(args.size, LEVELS[args.size]),
                "seconds": result.seconds,
                "figures": [asdict(f) for f in result.figures],
                "passed": all(f.passed is not False for f in result.figures),
                "regressions": found,
                "commands": [r.display for r in runs],
                "argv": [r.argv for r in runs],
                "records": [r.record for r in runs],
            }
            RESULTS.mkdir(exist_ok=True)
            path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    figures = [f for r in results.values() for f in r.figures]
    table = growth(growth_rows(results))
    wall = round(time.perf_counter() - started, 1)
    summary = {
        "suite": "bench/suite.py",
        "command": f"uv run --frozen python bench/suite.py --size {args.size}",
        **metadata(args.size, LEVELS[args.size]),
        "wall_seconds": wall,
        "postgres": "IRO_BENCH_POSTGRES_URL"
        if os.environ.get("IRO_BENCH_POSTGRES_URL")
        else ("own PostgreSQL 15, fsync off"),
        "wrk": wrk,
        "benches": {
            name: {
                "seconds": r.seconds,
                "error": r.error,
                "figures": [asdict(f) for f in r.figures],
            }
            for name, r in results.items()
        },
        "growth": table,
        "regressions": all_regressions,
    }
    if not args.only:
        (RESULTS / f"suite-{args.size}.json").write_text(
            json.dumps(summary, indent=2, default=str) + "\n"
        )
        (RESULTS / f"suite-{args.size}.md").write_text(markdown(figures, table))
    print(markdown(figures, table))
    for r in all_regressions:
        print(
            f"suite: REGRESSION {r['bench']}: {r['name']}: {r['previous']} -> {r['current']} "
            f"{r['unit']} ({r['worse_by_percent']}% worse)"
        )
    if not all_regressions:
        print("suite: no figure worse than the last recorded one by more than 20%")
    failed = [name for name, r in results.items() if r.error]
    print(f"suite: {args.size} run in {wall:.0f} s; failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
