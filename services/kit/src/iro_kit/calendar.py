"""England's working-day calendar.

A working day is any day other than a Saturday, a Sunday, a bank holiday in England and Wales
(the `holidays` package, country GB, subdivision ENG: Good Friday, Easter Monday, substitute
days and one-off holidays included) or an extra closure day from settings.

"N working days after D" counts strictly after D: D + 1 WD is the first working day after D.

Every question is answered in constant time. The calendar holds a table of working days for
the supported date range (`iro_kit.dates.FIRST_DAY` to `LAST_DAY`) with a year's margin each
side, so due dates derived from any date a client may send stay inside it; the table is built
once per set of closure days, on first use (about 30 ms). Outside the table (only a record
stored before the range was enforced can take arithmetic there) a working day is any Monday to
Friday: bank holidays and closures are not known there. Results that would fall outside
Python's dates are clamped to `date.min` and `date.max`, never an OverflowError.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from itertools import accumulate, compress

import holidays

from iro_kit.dates import FIRST_DAY, LAST_DAY

TABLE_FIRST_YEAR, TABLE_LAST_YEAR = FIRST_DAY.year - 1, LAST_DAY.year + 1
_MAX_ORDINAL = date.max.toordinal()


def _weekdays_to(ordinal: int) -> int:
    """Mondays to Fridays among ordinals 1..`ordinal` (ordinal 1, 0001-01-01, is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


def _weekday_ordinal(count: int) -> int:
    """The smallest ordinal with `_weekdays_to(ordinal) >= count`, for count >= 1."""
    weeks, rest = divmod(count - 1, 5)
    return weeks * 7 + rest + 1


@lru_cache(maxsize=8)
def _table(extra_closures: frozenset[date]) -> tuple[int, bytes, array, array, dict[date, str]]:
    """(first ordinal, is-working flags, cumulative working days, working-day ordinals, names)."""
    bank_holidays = holidays.country_holidays(
        "GB", subdiv="ENG", years=range(TABLE_FIRST_YEAR, TABLE_LAST_YEAR + 1)
    )
    names = dict(bank_holidays.items())
    first = date(TABLE_FIRST_YEAR, 1, 1).toordinal()
    last = date(TABLE_LAST_YEAR, 12, 31).toordinal()
    size = last - first + 1
    start_weekday = date.fromordinal(first).weekday()
    week = bytes(1 if (start_weekday + i) % 7 < 5 else 0 for i in range(7))
    flags = bytearray((week * (size // 7 + 1))[:size])
    for closed in (*names, *extra_closures):
        offset = closed.toordinal() - first
        if 0 <= offset < size:
            flags[offset] = 0
    cumulative = array("l", accumulate(flags))
    ordinals = array("l", compress(range(first, last + 1), flags))
    return first, bytes(flags), cumulative, ordinals, names


class WorkingDayCalendar:
    def __init__(self, extra_closures: Iterable[date] = ()) -> None:
        self._extra_closures = frozenset(extra_closures)
        self._first, self._flags, self._cumulative, self._ordinals, self._names = _table(
            self._extra_closures
        )
        self._size = len(self._flags)
        self._last = self._first + self._size - 1
        self._before = _weekdays_to(self._first - 1)  # working days before the table
        self._through = self._before + len(self._ordinals)  # ... up to its last day

    def _count_to(self, ordinal: int) -> int:
        """Working days among ordinals 1..`ordinal`; differences of it count any span."""
        offset = ordinal - self._first
        if offset < 0:
            return _weekdays_to(ordinal)
        if offset < self._size:
            return self._before + self._cumulative[offset]
        return self._through + _weekdays_to(ordinal) - _weekdays_to(self._last)

    def _nth(self, count: int) -> date:
        """The earliest day with `count` working days up to it: the `count`-th working day."""
        if count < 1:
            return date.min
        if count <= self._before:
            ordinal = _weekday_ordinal(count)
        elif count <= self._through:
            ordinal = self._ordinals[count - self._before - 1]
        else:
            ordinal = _weekday_ordinal(count - self._through + _weekdays_to(self._last))
        return date.fromordinal(ordinal) if ordinal <= _MAX_ORDINAL else date.max

    def is_bank_holiday(self, day: date) -> bool:
        return day in self._names

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra_closures:
            return "Service closure day"
        return self._names.get(day)

    def is_working_day(self, day: date) -> bool:
        ordinal = day.toordinal()
        return self._count_to(ordinal) > self._count_to(ordinal - 1)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (before it, for negative n); `start` if n is 0."""
        if n == 0:
            return start
        ordinal = start.toordinal()
        if n > 0:
            return self._nth(self._count_to(ordinal) + n)
        return self._nth(self._count_to(ordinal - 1) + n + 1)

    def subtract_working_days(self, start: date, n: int) -> date:
        """The n-th working day before `start`."""
        return self.add_working_days(start, -n)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days strictly after `start` up to and including `end` (negative if end < start).

        So `working_days_between(d, add_working_days(d, n)) == n` for every n.
        """
        return self._count_to(end.toordinal()) - self._count_to(start.toordinal())

    def last_working_day_on_or_before(self, day: date) -> date:
        return self._nth(self._count_to(day.toordinal()))

    def next_working_day_on_or_after(self, day: date) -> date:
        return self._nth(self._count_to(day.toordinal() - 1) + 1)
