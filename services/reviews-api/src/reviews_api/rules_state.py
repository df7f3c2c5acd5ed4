"""Stored chains follow the rules in force: a fingerprint of the rules, recomputed on change.

Every held review stores the due-by date, sequence and in-timescale flag the schedule gave it.
Those depend on the rules: the month rule, the closure days (bank holidays and the deployment's
extra ones) and the lead times. The fingerprint of the rules the stored chains were computed
under is kept in `schedule_rules_state`; at start-up, before the service serves, a different
fingerprint (or none: a new database, or one from before the fingerprint) recomputes every
child's chain, in chunks, each chunk under its children's locks, and logs the change. Until
every chunk has committed the old fingerprint stays, so an interrupted recompute starts again at
the next start-up.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from importlib.metadata import version
from typing import Any

from sqlalchemy import inspect, select

from iro_kit.db import Database
from iro_kit.logging import get_logger
from iro_kit.schedule import ScheduleRules
from reviews_api.casefile import load_casefiles
from reviews_api.models import Review, ScheduleRulesState
from reviews_api.reviews.chain import assess_chain

_log = get_logger("reviews_api.rules_state")
CHUNK = 500
# The bank holidays counted: far enough either side of any review the service will hold.
_HOLIDAY_YEARS = range(1990, 2061)


def describe(rules: ScheduleRules) -> dict[str, Any]:
    """The rules that decide a stored due date or flag, as plain data."""
    calendar = rules.calendar
    closures = [day.isoformat() for year in _HOLIDAY_YEARS for day in _closure_days(calendar, year)]
    return {
        "month_rule": rules.month_rule.value,
        "plan_by_working_days": rules.plan_by_working_days,
        "visit_working_days": rules.visit_working_days,
        "due_soon_working_days": rules.due_soon_working_days,
        "holidays_package": version("holidays"),
        "closure_days_sha256": hashlib.sha256(",".join(closures).encode()).hexdigest(),
        "closure_days": len(closures),
    }


def _closure_days(calendar: Any, year: int) -> list[date]:
    """Weekdays of the year that are not working days (bank holidays and extra closures)."""
    days = []
    day = date(year, 1, 1)
    while day.year == year:
        if day.weekday() < 5 and not calendar.is_working_day(day):
            days.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    return days


def fingerprint(description: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


async def recompute_if_changed(database: Database, rules: ScheduleRules) -> int | None:
    """Recompute every stored chain if the rules changed; the number of reviews whose stored
    values changed, or None if nothing needed doing (or the schema is not migrated yet)."""
    async with database.engine.connect() as connection:
        migrated = await connection.run_sync(
            lambda sync: inspect(sync).has_table(ScheduleRulesState.__tablename__)
        )
    if not migrated:
        _log.warning("schedule_rules_unchecked", reason="schema not migrated")
        return None
    description = describe(rules)
    wanted = fingerprint(description)
    async with database.transaction() as session:
        state = await session.get(ScheduleRulesState, 1)
        previous = None if state is None else dict(state.rules)
        if state is not None and state.fingerprint == wanted:
            return None
        child_ids = sorted(
            await session.scalars(
                select(Review.child_id).where(Review.deleted_at.is_(None)).distinct()
            )
        )
    changed = 0
    for start in range(0, len(child_ids), CHUNK):
        async with database.transaction() as session:
            casefiles = await load_casefiles(
                session, child_ids[start : start + CHUNK], for_update=True
            )
            for casefile in casefiles.values():
                before = [_stored(r) for r in casefile.reviews]
                assess_chain(casefile, rules)
                changed += sum(
                    b != _stored(r) for b, r in zip(before, casefile.reviews, strict=True)
                )
    async with database.transaction() as session:
        state = await session.get(ScheduleRulesState, 1)
        if state is None:
            state = ScheduleRulesState(id=1)
            session.add(state)
        state.fingerprint = wanted
        state.rules = description
        state.recomputed_at = datetime.now(UTC)
    _log.info(
        "schedule_rules_changed",
        previous=previous,
        rules=description,
        children=len(child_ids),
        reviews_changed=changed,
    )
    return changed


def _stored(review: Review) -> tuple[Any, ...]:
    return (
        review.period_started_on,
        review.sequence,
        review.due_by,
        review.in_timescale,
        review.late_reason,
    )
