"""Delivering committed outbox rows over HTTP, at least once, to each subscriber's inbox.

On PostgreSQL rows are claimed with FOR UPDATE SKIP LOCKED inside the delivering transaction,
so several relays share an outbox and never send one row twice at the same time; a relay that
dies mid-batch leaves its rows unclaimed for the next. On SQLite, run a single relay.

Rows go out in due order (`next_attempt_at`, a new row's creation time), read off the pending
index; each row's envelope is posted as the JSON text stored, and acknowledged by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import Text, cast, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from iro_kit.db import Database, id_in
from iro_kit.events.envelope import BATCH
from iro_kit.events.outbox import Outbox
from iro_kit.logging import get_logger

_log = get_logger("iro_kit.relay")


@dataclass(frozen=True)
class RelaySettings:
    batch_size: int = 200
    poll_seconds: float = 0.1
    max_attempts: int = 10
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 300.0
    retention_days: int = 7
    timeout_seconds: float = 10.0
    # Batches in flight at once (each claims its own rows); PostgreSQL only, SQLite runs one.
    concurrency: int = 2


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ["subscriber"]
        self.backlog = Gauge("outbox_backlog", "Undelivered events.", labels, registry=registry)
        self.oldest = Gauge(
            "outbox_oldest_undelivered_seconds",
            "Age of the oldest undelivered event.",
            labels,
            registry=registry,
        )
        self.delivered = Counter(
            "outbox_delivered_total", "Events delivered.", labels, registry=registry
        )
        self.retried = Counter(
            "outbox_retried_total", "Failed deliveries to retry.", labels, registry=registry
        )
        self.dead = Counter(
            "outbox_dead_lettered_total", "Events dead-lettered.", labels, registry=registry
        )
        self.latency = Histogram(
            "outbox_delivery_seconds",
            "From commit to acknowledged delivery.",
            labels,
            registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300),
        )


def backoff(attempts: int, settings: RelaySettings) -> timedelta:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(settings.backoff_cap_seconds, settings.backoff_base_seconds * 2 ** (attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not secrets


class Relay:
    def __init__(
        self,
        database: Database,
        outbox: Outbox,
        settings: RelaySettings,
        metrics: RelayMetrics,
        token: Callable[[], str],
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.database, self.outbox, self.settings = database, outbox, settings
        self.metrics, self.token = metrics, token
        self.client = client or httpx.AsyncClient(timeout=settings.timeout_seconds)
        self.table = outbox.tables.outbox
        self._skip_locked = database.engine.dialect.name == "postgresql"

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; woken at once by commits that wrote events."""
        lanes = self.settings.concurrency if self._skip_locked else 1
        await asyncio.gather(self._housekeeping(stop), *(self._lane(stop) for _ in range(lanes)))

    async def _lane(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                delivered = await self.deliver_once()
            except Exception as exc:  # a database or network outage: log, wait, go on
                _log.warning("relay_cycle_failed", error_type=type(exc).__name__)
                delivered = 0
            if delivered < self.settings.batch_size:
                await self.outbox.wait_for_commit(self.settings.poll_seconds)

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh_gauges()
                await self.purge()
            except Exception as exc:
                _log.warning("relay_housekeeping_failed", error_type=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 5)

    def claim_query(self, now: datetime) -> Any:
        """A batch of rows due at `now`, in due order (locked FOR UPDATE SKIP LOCKED on
        PostgreSQL by the caller)."""
        t = self.table
        return (
            select(
                t.c.id,
                t.c.event_id,
                t.c.subscriber,
                t.c.url,
                # The envelope as stored, JSON text: posted as it is, not decoded and encoded.
                cast(t.c.envelope, Text).label("envelope_json"),
                t.c.created_at,
                t.c.attempts,
            )
            .where(t.c.delivered_at.is_(None), t.c.dead_at.is_(None), t.c.next_attempt_at <= now)
            # Due order, oldest first (a new row is due when it is created): exactly the
            # pending index's order (delivered_at and dead_at are null here, so they only name
            # it), so a batch reads its rows off the index and stops, however many rows are
            # pending or delivered, whatever the statistics say. By created_at it would sort
            # every pending row, or step over every delivered one, for each batch.
            .order_by(t.c.delivered_at, t.c.dead_at, t.c.next_attempt_at)
            .limit(self.settings.batch_size)
        )

    async def deliver_once(self) -> int:
        """Claim one batch of due rows, deliver it, record the outcome. Returns rows claimed."""
        query = self.claim_query(datetime.now(UTC))
        if self._skip_locked:
            # PostgreSQL: the claimed rows stay locked while they are posted, so other relays
            # skip them; a relay that dies releases them with its transaction.
            async with self.database.sessions() as session, session.begin():
                rows = (await session.execute(query.with_for_update(skip_locked=True))).all()
                if rows:
                    await self._record_all(session, await self._post_all(rows))
            return len(rows)
        # SQLite has one relay: read, post with no transaction open (so the service's writers
        # are not held up by a slow subscriber), then record the outcome.
        async with self.database.sessions() as session:
            rows = (await session.execute(query)).all()
        if rows:
            outcomes = await self._post_all(rows)
            async with self.database.sessions() as session, session.begin():
                await self._record_all(session, outcomes)
        return len(rows)

    async def _post_all(self, rows: list[Any]) -> list[tuple[str, list[Any], set[str], str | None]]:
        """POST each subscriber's rows; (subscriber, rows, acknowledged ids, error) for each."""
        by_target: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for row in rows:
            by_target[(row.subscriber, row.url)].append(row)
        outcomes = await asyncio.gather(
            *(self._post(url, batch) for (_, url), batch in by_target.items())
        )
        return [
            (subscriber, batch, acked, error)
            for ((subscriber, _), batch), (acked, error) in zip(
                by_target.items(), outcomes, strict=True
            )
        ]

    async def _record_all(
        self, session: AsyncSession, outcomes: list[tuple[str, list[Any], set[str], str | None]]
    ) -> None:
        for subscriber, batch, acked, error in outcomes:
            await self._record(session, subscriber, batch, acked, error)

    async def _post(self, url: str, batch: list[Any]) -> tuple[set[str], str | None]:
        """POST a batch; returns the event ids the subscriber acknowledged, and an error."""
        try:
            response = await self.client.post(
                url,
                content="[" + ",".join(row.envelope_json for row in batch) + "]",
                headers={"Content-Type": BATCH, "Authorization": f"Bearer {self.token()}"},
            )
        except httpx.HTTPError as exc:
            return set(), f"{type(exc).__name__} posting to subscriber"
        if response.status_code != 200:
            return set(), f"HTTP {response.status_code} from subscriber"
        try:
            results = response.json()["results"]
            acked = {r["id"] for r in results if r["status"] in ("applied", "duplicate", "ignored")}
        except (ValueError, KeyError, TypeError):
            return set(), "subscriber answered without per-event results"
        failed = [r for r in results if r["id"] not in acked]
        return acked, (f"subscriber failed to apply: {failed[0].get('error')}" if failed else None)

    async def _record(
        self,
        session: AsyncSession,
        subscriber: str,
        batch: list[Any],
        acked: set[str],
        error: str | None,
    ) -> None:
        now = datetime.now(UTC)
        t = self.table
        delivered = [row for row in batch if row.event_id in acked]
        if delivered:
            await session.execute(
                update(t)
                .where(id_in(session, t.c.id, [r.id for r in delivered]))
                .values(delivered_at=now)
            )
            self.metrics.delivered.labels(subscriber).inc(len(delivered))
            latency = self.metrics.latency.labels(subscriber)
            for row in delivered:
                created = (
                    row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
                )
                latency.observe((now - created).total_seconds())
        for row in (r for r in batch if r.event_id not in acked):
            attempts = row.attempts + 1
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_error": error or "not acknowledged",
            }
            if attempts >= self.settings.max_attempts:
                values["dead_at"] = now
                self.metrics.dead.labels(subscriber).inc()
                _log.warning("event_dead_lettered", subscriber=subscriber, event_id=row.event_id)
            else:
                values["next_attempt_at"] = now + backoff(attempts, self.settings)
                self.metrics.retried.labels(subscriber).inc()
            await session.execute(update(t).where(t.c.id == row.id).values(**values))

    async def refresh_gauges(self) -> None:
        t = self.table
        async with self.database.sessions() as session:
            rows = await session.execute(
                select(t.c.subscriber, func.count(), func.min(t.c.created_at))
                .where(t.c.delivered_at.is_(None), t.c.dead_at.is_(None))
                .group_by(t.c.subscriber)
            )
            now = datetime.now(UTC)
            seen = set()
            for subscriber, count, oldest in rows:
                seen.add(subscriber)
                oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
                self.metrics.backlog.labels(subscriber).set(count)
                self.metrics.oldest.labels(subscriber).set((now - oldest).total_seconds())
            for route in self.outbox.routes:
                if route.subscriber not in seen:
                    self.metrics.backlog.labels(route.subscriber).set(0)
                    self.metrics.oldest.labels(route.subscriber).set(0)

    async def purge(self) -> int:
        """Delete delivered rows older than the retention period."""
        cutoff = datetime.now(UTC) - timedelta(days=self.settings.retention_days)
        t = self.table
        async with self.database.sessions() as session, session.begin():
            result = await session.execute(
                delete(t).where(t.c.delivered_at.is_not(None), t.c.created_at < cutoff)
            )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
