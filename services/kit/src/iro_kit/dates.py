"""The day: all domain dates are calendar dates in England (Europe/London).

Supported date range: every date a client sends (`as_at`, and each date in a request body or
query) must be an ISO `YYYY-MM-DD` string from `FIRST_DAY` (1900-01-01) to `LAST_DAY`
(2099-12-31); a date of birth from `FIRST_DAY` to today. Anything else (another format, a
number, a day out of range) is a 422 naming the field and the range. The working-day calendar
covers the whole range with a year's margin, so every derived due date is computed in
constant time. Records stored before the range was enforced may hold other dates: reads never
fail on them (derived dates are clamped to Python's `date.min`/`date.max`, see `shift`).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Query
from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

_ENGLAND = ZoneInfo("Europe/London")

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2099, 12, 31)
SUPPORTED_RANGE = f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


def today() -> date:
    """Today in England."""
    return datetime.now(_ENGLAND).date()


def shift(day: date, days: int) -> date:
    """`day` moved by `days`, clamped to `date.min`..`date.max` (never an OverflowError)."""
    ordinal = day.toordinal() + days
    if ordinal < 1:
        return date.min
    if ordinal > date.max.toordinal():
        return date.max
    return date.fromordinal(ordinal)


def _iso_day(value: Any) -> Any:
    """Only an ISO `YYYY-MM-DD` string (or a date, from Python) is a date: no timestamps."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise PydanticCustomError(
        "date_format", "Input should be a valid date in the format YYYY-MM-DD"
    )


def _in_range(first: date, last: date, value: date) -> date:
    if not first <= value <= last:
        raise PydanticCustomError(
            "date_range",
            "Date should be from {first} to {last}",
            {"first": first.isoformat(), "last": last.isoformat()},
        )
    return value


def _supported(value: date) -> date:
    return _in_range(FIRST_DAY, LAST_DAY, value)


def _birth(value: date) -> date:
    return _in_range(FIRST_DAY, today(), value)


Day = Annotated[
    date,
    BeforeValidator(_iso_day),
    AfterValidator(_supported),
    Field(json_schema_extra={"x-date-range": SUPPORTED_RANGE}),
]
"""A date a client sends: ISO `YYYY-MM-DD`, within the supported range (422 otherwise)."""

BirthDate = Annotated[
    date,
    BeforeValidator(_iso_day),
    AfterValidator(_birth),
    Field(json_schema_extra={"x-date-range": f"{FIRST_DAY.isoformat()} to today"}),
]
"""A date of birth: ISO `YYYY-MM-DD`, from 1900-01-01 to today (422 otherwise)."""


async def _as_at(
    as_at: Annotated[
        Day | None,
        Query(
            description="The day to compute for (default today); replays a past day exactly. "
            f"ISO YYYY-MM-DD, {SUPPORTED_RANGE}."
        ),
    ] = None,
) -> date:
    return as_at or today()


AsAt = Annotated[date, Depends(_as_at)]
"""A route's `?as_at=` day, today when absent."""
