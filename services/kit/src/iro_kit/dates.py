"""The day: all domain dates are calendar dates in England (Europe/London)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query

_ENGLAND = ZoneInfo("Europe/London")


def today() -> date:
    """Today in England."""
    return datetime.now(_ENGLAND).date()


def _as_at(
    as_at: Annotated[
        date | None,
        Query(description="The day to compute for (default today); replays a past day exactly."),
    ] = None,
) -> date:
    return as_at or today()


AsAt = Annotated[date, Depends(_as_at)]
"""A route's `?as_at=` day, today when absent."""
