"""The scorecard on PostgreSQL: 100,000 children with ten years of history, and one LA's size.

Creates a fresh database, applies scorecard-api's migrations and bulk-loads synthetic
projection rows (children, episodes, reviews, review dues, visits, plan dates, IROs and
allocations) from a fixed seed with COPY, not through events. The review due rows are worked
out with the service's own `review_dues` and the kit's schedule rules. Then it times, on an
AsyncSession of `iro_kit.db.Database`, `scorecard_columns` for:

- the full scorecard (every KPI) as at 31 March 2024: target under 2 s;
- a 12-month trend of `reviews_in_timescale` (month ends April 2023 to March 2024): under 5 s;
- the full scorecard again on a second database the size of one LA (3,000 children over ten
  years, about 600 looked after on the day): under 200 ms;

and, in the same run, a bare `SELECT count(*)` over `review` and over `review_due`, so every
figure is also a ratio to what PostgreSQL itself needs to read those tables. Each figure is the
median of 3 runs after one warm-up. Writes bench/results/scorecard.json.

    uv run python bench/scorecard_bench.py --postgres-url postgresql://postgres@127.0.0.1:54329/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import platform
import pstats
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, func, make_url, select

from iro_kit.calendar import WorkingDayCalendar
from iro_kit.db import Database
from iro_kit.migrations import upgrade_to_head
from iro_kit.schedule import EpisodeFacts, ReviewFacts, ScheduleRules, periods_of_care
from iro_kit.testing import create_postgres_database, drop_postgres_database
from scorecard_api.app import SPEC
from scorecard_api.kpis.definitions import KPIS
from scorecard_api.kpis.facts import Facts
from scorecard_api.kpis.formulas import default_window, midpoint
from scorecard_api.models import metadata
from scorecard_api.projections.dues import review_dues
from scorecard_api.scorecard.service import scorecard_columns
from scorecard_api.scorecard.trend import month_ends

SEED = 20150401
HISTORY_START = date(2015, 4, 1)
HISTORY_END = date(2025, 3, 31)  # ten years of history
AS_AT = date(2024, 3, 31)
TREND_CODE = "reviews_in_timescale"
TREND_FIRST = date(2023, 4, 1)  # 12 month ends, April 2023 to March 2024
CHUNK = 5_000  # children per generated (and seeded) chunk: the same rows whatever the workers
IROS_PER_100K = 150
RUNS = 3
TARGET_FULL_S = 2.0
TARGET_TREND_S = 5.0
TARGET_LA_S = 0.2
RESULTS = Path(__file__).parent / "results" / "scorecard.json"

# Legal status (SSDA903 LS) along one period of care, and how often each path is taken.
_PATHS = (
    (("C2",), 30),
    (("C1", "C2"), 16),
    (("V2",), 17),
    (("V2", "C2"), 7),
    (("V2", "C1", "C2"), 4),
    (("C2", "E1"), 7),
    (("C1", "C2", "E1"), 5),
    (("E1",), 3),
    (("C1",), 4),
    (("L1", "V2"), 2),
)
_PATH_CHOICES = [p for p, _ in _PATHS]
_PATH_WEIGHTS = [w for _, w in _PATHS]
# Age on becoming looked after: (lowest, highest) years, and how often.
_AGES = (((0, 1), 20), ((1, 5), 15), ((5, 10), 20), ((10, 16), 35), ((16, 17), 10))
_AGE_CHOICES = [a for a, _ in _AGES]
_AGE_WEIGHTS = [w for _, w in _AGES]
# How long a period lasts, in days: a few months to several years.
_LENGTHS = (((60, 365), 40), ((365, 3 * 365), 40), ((3 * 365, 8 * 365), 20))
_LENGTH_CHOICES = [r for r, _ in _LENGTHS]
_LENGTH_WEIGHTS = [w for _, w in _LENGTHS]
_PARTICIPATION = ("PN1", "PN2", "PN3", "PN4", "PN5", "PN6", "PN7")
_PARTICIPATION_WEIGHTS = (40, 15, 10, 10, 5, 8, 12)

TABLES: dict[str, list[str]] = {
    "child": ["id", "external_id", "name", "date_of_birth"],
    "episode": [
        "id",
        "child_id",
        "start_on",
        "end_on",
        "legal_status",
        "reason_new_episode",
        "period_start_on",
    ],
    "review": [
        "id",
        "child_id",
        "held_on",
        "due_by",
        "sequence",
        "in_timescale",
        "participation_code",
        "views_method",
        "late_reason",
    ],
    "review_due": [
        "child_id",
        "period_start_on",
        "ordinal",
        "sequence",
        "anchor_on",
        "due_by",
        "held_on",
        "review_id",
        "status_on_due",
    ],
    "visit": ["id", "child_id", "kind", "visited_on", "iro_id"],
    "plan_date": ["child_id", "kind", "dated_on"],
    "allocation": ["id", "child_id", "iro_id", "start_on", "end_on"],
}


# --- the synthetic population -------------------------------------------------------------


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _reason_new_episode(rng: random.Random, previous: str, status: str) -> str:
    """P: a change of placement only; L or T: the legal status changed too."""
    return "P" if status == previous else rng.choice(("L", "T"))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass
class Rows:
    tables: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {name: [] for name in TABLES}
    )

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.tables[table].append(row)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date | None  # the first day no longer looked after; None: still looked after
    iro_id: uuid.UUID


class Generator:
    def __init__(self, rng: random.Random, iro_ids: Sequence[uuid.UUID]) -> None:
        self.rng = rng
        self.iro_ids = iro_ids
        self.calendar = WorkingDayCalendar()
        self.rules = ScheduleRules(calendar=self.calendar)
        self.rows = Rows()

    def child(self, index: int) -> None:
        rng = self.rng
        child_id = _uuid(rng)
        start = HISTORY_START + timedelta(days=rng.randint(0, (HISTORY_END - HISTORY_START).days))
        low, high = rng.choices(_AGE_CHOICES, _AGE_WEIGHTS)[0]
        birth = start - timedelta(days=rng.randint(low * 365, high * 365 + 364))
        adult = _add_years(birth, 18)
        self.rows.add("child", (child_id, f"BENCH-{index:06d}", f"Child {index}", birth))
        episodes: list[EpisodeFacts] = []
        periods: list[Period] = []
        if rng.random() < 0.03:
            periods.append(self._short_breaks(start, min(adult, HISTORY_END), episodes))
        else:
            for _ in range(1 if rng.random() < 0.8 else 2):
                if start >= adult or start > HISTORY_END:
                    break
                period = self._period(start, adult, episodes)
                periods.append(period)
                if period.end is None:
                    break
                start = period.end + timedelta(days=rng.randint(60, 900))
        reviews = self._reviews(periods, episodes)
        self._load(child_id, birth, episodes, reviews, periods)

    def _period(self, start: date, adult: date, episodes: list[EpisodeFacts]) -> Period:
        rng = self.rng
        low, high = rng.choices(_LENGTH_CHOICES, _LENGTH_WEIGHTS)[0]
        end: date | None = min(start + timedelta(days=rng.randint(low, high)), adult)
        if end is not None and end > HISTORY_END:
            end = None
        path = rng.choices(_PATH_CHOICES, _PATH_WEIGHTS)[0]
        # Each status has one or more episodes: a change of placement starts a new one.
        statuses = [s for s in path for _ in range(rng.choices((1, 2, 3), (60, 30, 10))[0])]
        days = ((end or HISTORY_END + timedelta(days=1)) - start).days
        count = max(1, min(len(statuses), days // 20))
        statuses = statuses[:count]
        cuts = sorted(rng.sample(range(1, days), count - 1)) if count > 1 else []
        bounds = [start, *(start + timedelta(days=c) for c in cuts), end]
        for n, status in enumerate(statuses):
            reason = "S" if n == 0 else _reason_new_episode(rng, statuses[n - 1], status)
            episodes.append(EpisodeFacts(bounds[n], bounds[n + 1], status, reason))
        return Period(start, end, rng.choice(self.iro_ids))

    def _short_breaks(self, start: date, last: date, episodes: list[EpisodeFacts]) -> Period:
        """An agreed series of short breaks (V3): a few days away every few weeks."""
        rng = self.rng
        stop = min(last, start + timedelta(days=rng.randint(180, 3 * 365)))
        day = start
        end: date | None = None
        while day <= stop:
            end = day + timedelta(days=rng.randint(1, 4))
            if end > HISTORY_END:
                end = None
            episodes.append(EpisodeFacts(day, end, "V3", "S"))
            if end is None:
                break
            day = end + timedelta(days=rng.randint(14, 45))
        return Period(start, end, rng.choice(self.iro_ids))

    def _reviews(self, periods: list[Period], episodes: list[EpisodeFacts]) -> list[ReviewFacts]:
        """Held at the statutory intervals, mostly a few days early, about 5% late."""
        rng = self.rng
        reviews: list[ReviewFacts] = []
        for period in periods:
            short_break = episodes[-1].legal_status == "V3"
            if short_break:
                due = period.start + timedelta(days=91)
            else:
                due = self.calendar.add_working_days(period.start, 20)
            last = min(period.end - timedelta(days=1) if period.end else HISTORY_END, HISTORY_END)
            count = 0
            while True:
                if rng.random() < 0.05:
                    held = due + timedelta(days=rng.randint(1, 30))
                else:
                    held = due - timedelta(days=rng.randint(0, 14))
                held = max(held, period.start)
                if held > last:
                    break
                reviews.append(ReviewFacts(held, key=_uuid(rng)))
                count += 1
                due = held + timedelta(days=91 if count == 1 and not short_break else 183)
        return reviews

    def _load(
        self,
        child_id: uuid.UUID,
        birth: date,
        episodes: list[EpisodeFacts],
        reviews: list[ReviewFacts],
        periods: list[Period],
    ) -> None:
        rng, add = self.rng, self.rows.add
        period_of = {}
        for period in periods_of_care(episodes):
            for member in period.episodes:
                period_of[id(member)] = period.start
        for e in episodes:
            row = (_uuid(rng), child_id, e.start, e.end, e.legal_status, e.reason_new_episode)
            add("episode", (*row, period_of[id(e)]))
        iro_of = {p.start: p.iro_id for p in periods}
        dues = review_dues(episodes, reviews, self.rules)
        by_review = {d.review_id: d for d in dues if d.review_id is not None}
        for r in reviews:
            due = by_review[r.key]
            under_4 = _add_years(birth, 4) > r.held_on
            code = "PN0" if under_4 else rng.choices(_PARTICIPATION, _PARTICIPATION_WEIGHTS)[0]
            in_time = r.held_on <= due.due_by
            late = None if in_time else "other"
            add(
                "review",
                (r.key, child_id, r.held_on, due.due_by, due.sequence, in_time, code, None, late),
            )
        for n, d in enumerate(dues):
            add(
                "review_due",
                (
                    child_id,
                    d.period_start_on,
                    d.ordinal,
                    d.sequence,
                    d.anchor_on,
                    d.due_by,
                    d.held_on,
                    d.review_id,
                    d.status_on_due,
                ),
            )
            if d.held_on is None:
                continue
            iro_id = iro_of[d.period_start_on]
            if rng.random() < 0.85:  # a pre-review visit, mostly in good time
                visited = max(d.anchor_on, d.held_on - timedelta(days=rng.randint(2, 25)))
                add("visit", (_uuid(rng), child_id, "pre_review", visited, iro_id))
            following = dues[n + 1] if n + 1 < len(dues) else None
            if (
                following is not None
                and following.period_start_on == d.period_start_on
                and rng.random() < 0.7
            ):
                middle = midpoint(d.held_on, following.due_by)
                visited = middle + timedelta(days=rng.randint(-20, 10))
                if d.held_on < visited <= HISTORY_END:
                    add("visit", (_uuid(rng), child_id, "midway", visited, iro_id))
        for period in periods:
            stop = min(period.end or HISTORY_END, HISTORY_END)
            if episodes[-1].legal_status != "V3":
                self._plans(child_id, birth, period.start, stop)
            end_on = period.end - timedelta(days=1) if period.end else None  # its last day
            start_on = min(period.start + timedelta(days=rng.randint(0, 5)), end_on or AS_AT)
            add("allocation", (_uuid(rng), child_id, period.iro_id, start_on, end_on))

    def _plans(self, child_id: uuid.UUID, birth: date, start: date, stop: date) -> None:
        """Care plan, health assessment, PEP (school age) and pathway plan (16+) dates, each
        every five months or so."""
        rng, add = self.rng, self.rows.add
        school_from, school_to = _add_years(birth, 4), _add_years(birth, 17)
        pathway_from = _add_years(birth, 16)
        for kind in ("care_plan_updated", "health_assessment_completed", "pep_reviewed"):
            day = start + timedelta(days=rng.randint(3, 40))
            while day < stop:
                if kind != "pep_reviewed" or school_from <= day < school_to:
                    add("plan_date", (child_id, kind, day))
                day += timedelta(days=rng.randint(100, 200))
        day = max(start, pathway_from) + timedelta(days=rng.randint(3, 60))
        while day < stop:
            add("plan_date", (child_id, "pathway_plan_updated", day))
            day += timedelta(days=rng.randint(100, 200))


def generate(seed: int, chunk: int, first: int, count: int, iro_ids: Sequence[uuid.UUID]) -> Rows:
    generator = Generator(random.Random(seed * 10_000 + chunk), iro_ids)
    for index in range(first, first + count):
        generator.child(index)
    return generator.rows


async def _copy(dsn: str, rows: Rows) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for table, columns in TABLES.items():
            await connection.copy_records_to_table(
                table, records=rows.tables[table], columns=columns
            )
    finally:
        await connection.close()


def load_chunk(
    dsn: str, seed: int, chunk: int, first: int, count: int, iro_ids: Sequence[uuid.UUID]
) -> dict[str, int]:
    """Generate one chunk of children and COPY it in (in a worker process)."""
    rows = generate(seed, chunk, first, count, iro_ids)
    asyncio.run(_copy(dsn, rows))
    return {table: len(listed) for table, listed in rows.tables.items()}


def _iros(seed: int, children: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    count = max(2, round(children * IROS_PER_100K / 100_000))
    return [
        (
            _uuid(rng),
            f"IRO {n}",
            rng.choice((0.5, 0.6, 0.8, 1.0, 1.0, 1.0)),
            date(2012, 1, 1) + timedelta(days=rng.randint(0, 1000)),
            None,
        )
        for n in range(count)
    ]


async def _admin_sql(dsn: str, *statements: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def load(url: str, children: int, seed: int, workers: int) -> dict[str, Any]:
    """Migrate, then load `children` children with `workers` processes; the seconds it took."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    started = time.perf_counter()
    upgrade_to_head(SPEC.script_location, url)
    iros = _iros(seed, children)
    asyncio.run(_load_iros(dsn, iros))
    iro_ids = [row[0] for row in iros]
    chunks = [
        (dsn, seed, n, first, min(CHUNK, children - first), iro_ids)
        for n, first in enumerate(range(0, children, CHUNK))
    ]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        list(pool.map(load_chunk, *zip(*chunks, strict=True)))
    loaded = time.perf_counter()
    # As autovacuum would leave it: statistics and the visibility map.
    asyncio.run(_admin_sql(dsn, "VACUUM ANALYZE"))
    return {
        "load_seconds": round(loaded - started, 1),
        "vacuum_analyze_seconds": round(time.perf_counter() - loaded, 1),
    }


async def _load_iros(dsn: str, iros: list[tuple[Any, ...]]) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        columns = ["id", "name", "fte", "start_on", "end_on"]
        await connection.copy_records_to_table("iro", records=iros, columns=columns)
    finally:
        await connection.close()


# --- timing -------------------------------------------------------------------------------


async def _median(run: Callable[[], Awaitable[Any]], runs: int = RUNS) -> dict[str, Any]:
    await run()  # warm-up
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        await run()
        seconds.append(time.perf_counter() - started)
    return {
        "seconds_median": round(statistics.median(seconds), 4),
        "seconds_runs": [round(s, 4) for s in seconds],
    }


def _with_ratios(
    timing: dict[str, Any], baselines: dict[str, dict[str, Any]], target: float
) -> dict[str, Any]:
    median = timing["seconds_median"]
    return {
        **timing,
        "target_seconds": target,
        "passed": median < target,
        "ratio_to_count_review": round(median / baselines["count_review"]["seconds_median"], 1),
        "ratio_to_count_review_due": round(
            median / baselines["count_review_due"]["seconds_median"], 1
        ),
    }


_COUNT_SQL = {
    table: str(select(func.count()).select_from(metadata.tables[table]))
    for table in ("iro", *TABLES)
}


async def _row_counts(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        return {table: await connection.fetchval(sql) for table, sql in _COUNT_SQL.items()}
    finally:
        await connection.close()


async def _baselines(dsn: str) -> dict[str, dict[str, Any]]:
    """A bare count(*) over the reviews projection and over the due dates, on one connection."""
    connection = await asyncpg.connect(dsn)
    try:
        found = {}
        for table in ("review", "review_due"):
            sql = _COUNT_SQL[table]

            async def count(sql: str = sql) -> Any:
                return await connection.fetchval(sql)

            found[f"count_{table}"] = {"sql": sql, **await _median(count)}
        return found
    finally:
        await connection.close()


async def _scorecard(
    database: Database, calendar: WorkingDayCalendar, days: Sequence[date], codes: Any = None
) -> list[Any]:
    async with database.transaction() as session:
        return await scorecard_columns(session, [default_window(d) for d in days], codes)


def _figures(columns: list[Any]) -> dict[str, Any]:
    return {
        k.code: {
            "numerator": k.numerator,
            "denominator": k.denominator,
            "value": round(k.value, 1) if k.value is not None else None,
        }
        for k in columns[0].kpis
    }


async def measure_large(url: str) -> dict[str, Any]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    calendar = WorkingDayCalendar()
    database = Database(url)
    try:
        days = month_ends(TREND_FIRST, AS_AT)
        full = await _median(lambda: _scorecard(database, calendar, [AS_AT]))
        trend = await _median(lambda: _scorecard(database, calendar, days, [TREND_CODE]))
        baselines = await _baselines(dsn)
        steps, _ = await breakdown(database, calendar)
        figures = _figures(await _scorecard(database, calendar, [AS_AT]))
        trend_points = [
            (c.as_at.isoformat(), round(c.kpis[0].value, 1) if c.kpis[0].value else None)
            for c in await _scorecard(database, calendar, days, [TREND_CODE])
        ]
    finally:
        await database.dispose()
    return {
        "baselines": baselines,
        "full_scorecard": _with_ratios(full, baselines, TARGET_FULL_S),
        "trend": {
            "code": TREND_CODE,
            "month_ends": [days[0].isoformat(), days[-1].isoformat()],
            "points": len(days),
            **_with_ratios(trend, baselines, TARGET_TREND_S),
            "values": dict(trend_points),
        },
        "full_scorecard_breakdown": steps,
        "figures": figures,
        "row_counts": await _row_counts(dsn),
    }


async def measure_la(url: str) -> dict[str, Any]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    calendar = WorkingDayCalendar()
    database = Database(url)
    try:
        full = await _median(lambda: _scorecard(database, calendar, [AS_AT]))
        baselines = await _baselines(dsn)
        steps, _ = await breakdown(database, calendar)
        figures = _figures(await _scorecard(database, calendar, [AS_AT]))
    finally:
        await database.dispose()
    return {
        "baselines": baselines,
        "full_scorecard": _with_ratios(full, baselines, TARGET_LA_S),
        "full_scorecard_breakdown": steps,
        "figures": figures,
        "row_counts": await _row_counts(dsn),
    }


class _StatementLog:
    """Every statement the session runs, with the time spent in the driver's execute (the
    server's work, the transfer and asyncpg's decoding; not SQLAlchemy's rows or Python)."""

    def __init__(self, database: Database) -> None:
        self.engine = database.engine.sync_engine
        self.statements: list[tuple[float, str, Any]] = []

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("bench_started")
        self.statements.append((elapsed, statement, parameters))

    def __enter__(self) -> _StatementLog:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


async def breakdown(
    database: Database, calendar: WorkingDayCalendar
) -> tuple[dict[str, Any], list[tuple[float, str, Any]]]:
    """One full scorecard (after a warm-up), step by step: `Facts.on` (the population) and
    each KPI's figure, with the time in database calls and the rest (SQLAlchemy rows, Python)."""
    await _scorecard(database, calendar, [AS_AT])
    steps: dict[str, Any] = {}
    with _StatementLog(database) as log:
        async with database.transaction() as session:
            started = time.perf_counter()
            facts = await Facts.on(session, default_window(AS_AT), calendar)
            marks = [("population", time.perf_counter() - started, len(log.statements))]
            for kpi in KPIS:
                began = time.perf_counter()
                await facts.figure(kpi.code)
                marks.append((kpi.code, time.perf_counter() - began, len(log.statements)))
            total = time.perf_counter() - started
    first = 0
    for name, seconds, last in marks:
        in_database = sum(s[0] for s in log.statements[first:last])
        steps[name] = {
            "seconds": round(seconds, 3),
            "seconds_in_database_calls": round(in_database, 3),
            "seconds_in_python": round(seconds - in_database, 3),
            "queries": last - first,
        }
        first = last
    in_database = sum(s[0] for s in log.statements)
    summary = {
        "seconds": round(total, 3),
        "seconds_in_database_calls": round(in_database, 3),
        "seconds_in_python": round(total - in_database, 3),
        "steps": steps,
    }
    return summary, log.statements


async def profile(url: str) -> None:
    """Where the full scorecard's time goes: each step, EXPLAIN ANALYZE of every query, and
    cProfile of one run (sorted by own time)."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    calendar = WorkingDayCalendar()
    database = Database(url)
    try:
        summary, statements = await breakdown(database, calendar)
        print(json.dumps(summary, indent=2))
        connection = await asyncpg.connect(dsn)
        try:
            for n, (seconds, statement, parameters) in enumerate(statements):
                print(f"\n--- query {n}: {seconds:.3f} s in the driver's execute")
                print(statement)
                print(parameters)
                plan = await connection.fetch(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, *parameters
                )
                print("\n".join(row[0] for row in plan))
        finally:
            await connection.close()
        profiler = cProfile.Profile()
        profiler.enable()
        await _scorecard(database, calendar, [AS_AT])
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    finally:
        await database.dispose()


# --- the run ------------------------------------------------------------------------------


def _machine() -> dict[str, Any]:
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "machine": platform.machine(),
        "cpu": model,
        "machine_cores": os.cpu_count(),
        "python_version": platform.python_version(),
    }


async def _server(dsn: str) -> dict[str, str]:
    """The server's version and the settings that matter here (defaults unless tuned)."""
    connection = await asyncpg.connect(dsn)
    try:
        names = ("server_version", "shared_buffers", "work_mem", "max_parallel_workers_per_gather")
        return {name: str(await connection.fetchval(f"SHOW {name}")) for name in names}
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("IRO_BENCH_POSTGRES_URL") or os.environ.get("IRO_TEST_POSTGRES_URL"),
        help="an admin URL; databases are created for the run and dropped after",
    )
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--la-children", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true", help="keep the loaded databases")
    parser.add_argument("--reuse", help="a 100,000-children database kept by an earlier run")
    parser.add_argument("--reuse-la", help="an LA-sized database kept by an earlier run")
    parser.add_argument(
        "--profile", action="store_true", help="profile the full scorecard; writes no results"
    )
    parser.add_argument("--json-out", type=Path, default=RESULTS, help="where to write results")
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("needs --postgres-url (or IRO_BENCH_POSTGRES_URL)")
    admin_dsn = args.postgres_url.replace("postgresql+asyncpg://", "postgresql://")
    created: list[str] = []
    sizes: dict[str, Any] = {}
    try:
        large_url, la_url = args.reuse, args.reuse_la
        for name, children, given in (
            ("large", args.children, args.reuse),
            ("la", args.la_children, args.reuse_la),
        ):
            if given or (args.profile and name == "la"):
                continue
            url = create_postgres_database(args.postgres_url)
            created.append(url)
            print(f"loading {children} children into {url.rsplit('/', 1)[-1]}...", flush=True)
            sizes[name] = load(url, children, args.seed, args.workers)
            print(f"  {sizes[name]}", flush=True)
            if name == "large":
                large_url = url
            else:
                la_url = url
        if args.profile:
            asyncio.run(profile(large_url))
            return 0
        print("timing...", flush=True)
        load_before = os.getloadavg()
        large = asyncio.run(measure_large(large_url))
        la = asyncio.run(measure_la(la_url))
        load_after = os.getloadavg()
        server = asyncio.run(_server(admin_dsn))
    finally:
        for url in created:
            if args.keep:
                print(f"database kept: {url}")
            else:
                drop_postgres_database(args.postgres_url, url)
    large.update(sizes.get("large", {}))
    la.update(sizes.get("la", {}))
    looked_after = {
        "large": large["figures"]["section_20"]["denominator"],
        "la": la["figures"]["section_20"]["denominator"],
    }
    checks = {
        "full_scorecard_100k_under_2s": large["full_scorecard"]["passed"],
        "trend_12_months_100k_under_5s": large["trend"]["passed"],
        "full_scorecard_la_under_200ms": la["full_scorecard"]["passed"],
    }
    result = {
        "benchmark": "scorecard_columns on PostgreSQL (issue 9, acceptance 5)",
        "command": "uv run python bench/scorecard_bench.py --postgres-url "
        + make_url(args.postgres_url).render_as_string(hide_password=True),
        "date": date.today().isoformat(),
        **_machine(),
        "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "database": f"PostgreSQL {server.pop('server_version')}",
        "database_settings": server,
        "as_at": AS_AT.isoformat(),
        "history": [HISTORY_START.isoformat(), HISTORY_END.isoformat()],
        "seed": args.seed,
        "runs": f"median of {RUNS} after one warm-up",
        "large": {
            "children": args.children,
            "looked_after_on_as_at": looked_after["large"],
            **large,
        },
        "la": {"children": args.la_children, "looked_after_on_as_at": looked_after["la"], **la},
        "targets": {
            "full_scorecard_100k_seconds": TARGET_FULL_S,
            "trend_12_months_100k_seconds": TARGET_TREND_S,
            "full_scorecard_la_seconds": TARGET_LA_S,
        },
        "passed": checks,
        "all_passed": all(checks.values()),
    }
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["all_passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
