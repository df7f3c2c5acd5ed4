"""England's working-day calendar.

A working day is any day other than a Saturday, a Sunday, a bank holiday in England and Wales
(the `holidays` package, country GB, subdivision ENG: Good Friday, Easter Monday, substitute
days and one-off holidays included) or an extra closure day from settings.

"N working days after D" counts strictly after D: D + 1 WD is the first working day after D.

Schedules for a whole authority are computed in bulk, so the calendar precomputes a table of
working days for 1990-2075 and answers every question inside it in constant time; outside it,
it counts day by day.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays

_ONE_DAY = timedelta(days=1)
TABLE_FIRST_YEAR, TABLE_LAST_YEAR = 1990, 2075


@lru_cache(maxsize=8)
def _table(extra_closures: frozenset[date]) -> tuple[int, bytes, array, array, dict[date, str]]:
    """(first ordinal, is-working flags, cumulative working days, working-day ordinals, names)."""
    bank_holidays = holidays.country_holidays(
        "GB", subdiv="ENG", years=range(TABLE_FIRST_YEAR, TABLE_LAST_YEAR + 1)
    )
    names = dict(bank_holidays.items())
    first = date(TABLE_FIRST_YEAR, 1, 1).toordinal()
    last = date(TABLE_LAST_YEAR, 12, 31).toordinal()
    flags = bytearray(last - first + 1)
    cumulative = array("l", bytes(8 * len(flags)))
    ordinals = array("l")
    count = 0
    for offset in range(len(flags)):
        ordinal = first + offset
        day = date.fromordinal(ordinal)
        if day.weekday() < 5 and day not in names and day not in extra_closures:
            flags[offset] = 1
            count += 1
            ordinals.append(ordinal)
        cumulative[offset] = count
    return first, bytes(flags), cumulative, ordinals, names


class WorkingDayCalendar:
    def __init__(self, extra_closures: Iterable[date] = ()) -> None:
        self._extra_closures = frozenset(extra_closures)
        self._first, self._flags, self._cumulative, self._ordinals, self._names = _table(
            self._extra_closures
        )
        self._size = len(self._flags)
        self._bank_holidays = holidays.country_holidays("GB", subdiv="ENG")

    def _offset(self, day: date) -> int | None:
        offset = day.toordinal() - self._first
        return offset if 0 <= offset < self._size else None

    def is_bank_holiday(self, day: date) -> bool:
        return day in self._names or day in self._bank_holidays

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra_closures:
            return "Service closure day"
        return self._names.get(day) or self._bank_holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        offset = self._offset(day)
        if offset is not None:
            return self._flags[offset] == 1
        return (
            day.weekday() < 5 and day not in self._bank_holidays and day not in self._extra_closures
        )

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (before it, for negative n); `start` if n is 0."""
        if n == 0:
            return start
        # `_offset` inlined: this is the hot path of bulk schedules.
        offset = start.toordinal() - self._first
        if 0 <= offset < self._size:
            passed = self._cumulative[offset]  # working days up to and including `start`
            index = passed + n - 1 if n > 0 else passed - self._flags[offset] + n
            if 0 <= index < len(self._ordinals):
                return date.fromordinal(self._ordinals[index])
        return self._step(start, n)

    def _step(self, start: date, n: int) -> date:
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        day, remaining = start, abs(n)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def subtract_working_days(self, start: date, n: int) -> date:
        """The n-th working day before `start`."""
        return self.add_working_days(start, -n)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days strictly after `start` up to and including `end` (negative if end < start).

        So `working_days_between(d, add_working_days(d, n)) == n` for every n.
        """
        if end < start:
            return -self.working_days_between(end, start)
        first, last = start.toordinal() - self._first, end.toordinal() - self._first
        if first >= 0 and last < self._size:  # both inside the table, as first <= last
            return self._cumulative[last] - self._cumulative[first]
        count, day = 0, start
        while day < end:
            day += _ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count

    def last_working_day_on_or_before(self, day: date) -> date:
        offset = self._offset(day)
        if offset is not None and self._cumulative[offset] > 0:
            if self._flags[offset]:
                return day
            return date.fromordinal(self._ordinals[self._cumulative[offset] - 1])
        while not self.is_working_day(day):
            day -= _ONE_DAY
        return day

    def next_working_day_on_or_after(self, day: date) -> date:
        offset = self._offset(day)
        if offset is not None:
            index = self._cumulative[offset] - self._flags[offset]
            if index < len(self._ordinals):
                return date.fromordinal(self._ordinals[index])
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day
