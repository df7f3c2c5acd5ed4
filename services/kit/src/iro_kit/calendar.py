"""England's working-day calendar.

A working day is any day other than a Saturday, a Sunday, a bank holiday in England and Wales
(the `holidays` package, country GB, subdivision ENG: Good Friday, Easter Monday, substitute
days and one-off holidays included) or an extra closure day from settings.

"N working days after D" counts strictly after D: D + 1 WD is the first working day after D.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays

_ONE_DAY = timedelta(days=1)


class WorkingDayCalendar:
    def __init__(self, extra_closures: Iterable[date] = ()) -> None:
        self._bank_holidays = holidays.country_holidays("GB", subdiv="ENG")
        self._extra_closures = frozenset(extra_closures)

    def is_bank_holiday(self, day: date) -> bool:
        return day in self._bank_holidays

    def holiday_name(self, day: date) -> str | None:
        if day in self._extra_closures:
            return "Service closure day"
        return self._bank_holidays.get(day)

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5 and day not in self._bank_holidays and day not in self._extra_closures
        )

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (before it, for negative n); `start` if n is 0."""
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
        count, day = 0, start
        while day < end:
            day += _ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count

    def last_working_day_on_or_before(self, day: date) -> date:
        while not self.is_working_day(day):
            day -= _ONE_DAY
        return day

    def next_working_day_on_or_after(self, day: date) -> date:
        while not self.is_working_day(day):
            day += _ONE_DAY
        return day
