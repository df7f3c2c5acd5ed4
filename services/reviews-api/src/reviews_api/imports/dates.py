"""Dates as SSDA903 files write them: `dd/mm/yyyy` (ISO `yyyy-mm-dd` is accepted too)."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

# Excel sometimes appends a midnight time to a date; nothing else is accepted.
_UK = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: 00:00(?::00)?)?")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
DATE_SHAPE = re.compile(f"{_UK.pattern}|{_ISO.pattern}")  # written as a date, real or not


@lru_cache(maxsize=1 << 16)  # a return repeats the same few thousand dates
def parse_date(text: str) -> date | None:
    """The date written, or None if it is not a real date in either form."""
    uk = _UK.fullmatch(text)
    try:
        if uk:
            return date(int(uk[3]), int(uk[2]), int(uk[1]))
        iso = _ISO.fullmatch(text)
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
    except ValueError:  # 31/02/2017
        return None
    return None


def format_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def year_ending_for(day: date) -> date:
    """31 March of the collection year (1 April to 31 March) that `day` falls in."""
    return date(day.year if day.month <= 3 else day.year + 1, 3, 31)
