"""Publishing every changed aggregate at commit, whatever code path changed it.

A service describes which aggregates an ORM object belongs to (`classify`) and how to read an
aggregate's whole state (`state`). Sessions opened by `Database.transaction()` then collect the
aggregates touched by each flush, and just before commit write one `<type>.changed` event per
aggregate, with its state and a version from the service's event counter, into the outbox, in
the same transaction. An API route, an integration batch and a file import all publish alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import event, update
from sqlalchemy.orm import Session

from iro_kit.events.outbox import SESSION_KEY, WROTE_KEY, Outbox, rows_for_new_event

PUBLISHER_KEY = "iro_publisher"
CHANGED_KEY = "iro_changed_aggregates"

Aggregate = tuple[str, Any]  # (event type, aggregate key)


@dataclass(frozen=True)
class Publisher:
    """`state` must read from the database, not the session's memory: use
    `populate_existing` (`FRESH` below) on every get and select."""

    classify: Callable[[object], Iterable[Aggregate]]
    state: Callable[[Session, str, Any], dict[str, Any] | None]


FRESH = {"populate_existing": True}


def _collect(session: Session, _context: Any) -> None:
    publisher: Publisher | None = session.info.get(PUBLISHER_KEY)
    if publisher is None:
        return
    changed: set[Aggregate] = session.info.setdefault(CHANGED_KEY, set())
    for obj in chain(session.new, session.deleted):
        changed.update(publisher.classify(obj))
    for obj in session.dirty:
        if session.is_modified(obj, include_collections=False):
            changed.update(publisher.classify(obj))


def _publish(session: Session) -> None:
    publisher: Publisher | None = session.info.get(PUBLISHER_KEY)
    outbox: Outbox | None = session.info.get(SESSION_KEY)
    # SQLAlchemy calls before_commit when a savepoint is released too: publish only at the
    # outermost commit, or a later savepoint rollback would take the events with it.
    if publisher is None or outbox is None or session.in_nested_transaction():
        return
    session.flush()
    changed: set[Aggregate] = session.info.pop(CHANGED_KEY, set())
    wanted = sorted(
        (a for a in changed if any(route.wants(a[0]) for route in outbox.routes)),
        key=lambda a: (a[0], str(a[1])),
    )  # nobody subscribes to the rest: no state to read, no version to take
    if not wanted:
        return
    # Versions first, under the counter's row lock: every earlier publishing transaction has
    # committed by then, and the states read below (fresh from the database, the publisher's
    # reads use populate_existing) include its changes. Versions increase in commit order.
    versions = outbox.tables.versions
    last = session.execute(
        update(versions).values(last=versions.c.last + len(wanted)).returning(versions.c.last)
    ).scalar_one()
    for version, (event_type, key) in enumerate(wanted, start=last - len(wanted) + 1):
        state = publisher.state(session, event_type, key)
        if state is None:
            continue
        rows = rows_for_new_event(outbox, event_type, str(key), {**state, "version": version})
        if rows:
            session.execute(outbox.tables.outbox.insert(), rows)
            session.info[WROTE_KEY] = True


_installed = False


def install() -> None:
    """Register the session hooks once per process; they act only on publishing sessions."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "before_commit", _publish)
        _installed = True
