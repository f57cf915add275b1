"""A deliberately slow, obvious reference for business time: one UTC minute at a time.

It shares nothing with ``app.calendars.engine`` but the spec's data. For every
local date near the window it reads each "HH:MM-HH:MM" wall interval, turns its
two ends into instants with zoneinfo (an aware datetime's default fold=0, as
the clock conventions say), and flags each minute in between as open; one-off ``closed``
parts are flagged shut afterwards. Answers then come from walking the flags.
All instants handed to it must be whole minutes (epoch seconds divisible by 60).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from app.calendars.spec import CalendarSpec

UTC = dt.UTC
DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
MAX_DAYS = 70


def _minutes(text: str) -> tuple[int, int]:
    start_text, end_text = text.split("-")
    sh, sm = (int(x) for x in start_text.split(":"))
    eh, em = (int(x) for x in end_text.split(":"))
    start, end = sh * 60 + sm, eh * 60 + em
    if end <= start:
        end += 24 * 60  # overnight: belongs to the day it starts
    return start, end


class ReferenceCalendar:
    """Minute-stepping business time for a ``CalendarSpec``."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.tz = ZoneInfo(spec.timezone)
        self.exceptions = {e.date: e for e in spec.exceptions}

    def _is_holiday(self, day: dt.date) -> bool:
        if day in self.spec.holidays.dates:
            return True
        country = self.spec.holidays.country
        if country is None:
            return False
        return day in holidays_lib.country_holidays(country, subdiv=self.spec.holidays.subdivision, years=day.year)

    def _wall_intervals(self, day: dt.date) -> list[str]:
        exception = self.exceptions.get(day)
        if exception is not None and exception.hours is not None:
            return exception.hours
        if self._is_holiday(day):
            return []
        return self.spec.hours.get(DAY_NAMES[day.weekday()], [])  # type: ignore[call-overload, no-any-return]

    def _instant(self, day: dt.date, minute: int) -> int:
        local_midnight = dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)
        wall = local_midnight + dt.timedelta(minutes=minute)  # wall-clock arithmetic, fold stays 0
        return int(wall.astimezone(UTC).timestamp())

    def flags(self, first: int, count: int) -> bytearray:
        """Open (1) or closed (0) for each of ``count`` minutes from epoch second ``first``."""
        assert first % 60 == 0
        out = bytearray(count)
        day = dt.datetime.fromtimestamp(first, UTC).date() - dt.timedelta(days=3)
        last_day = dt.datetime.fromtimestamp(first + 60 * count, UTC).date() + dt.timedelta(days=2)
        days = []
        while day <= last_day:
            days.append(day)
            day += dt.timedelta(days=1)
        for value, pick in ((1, self._wall_intervals), (0, self._closed_parts)):
            for d in days:
                for text in pick(d):
                    start_min, end_min = _minutes(text)
                    t = self._instant(d, start_min)
                    end = self._instant(d, end_min)
                    while t < end:
                        index = (t - first) // 60
                        if 0 <= index < count:
                            out[index] = value
                        t += 60
        return out

    def _closed_parts(self, day: dt.date) -> list[str]:
        exception = self.exceptions.get(day)
        return list(exception.closed) if exception is not None and exception.closed is not None else []

    @staticmethod
    def _paused(pauses: list[tuple[int, int]], first: int, count: int) -> bytearray:
        out = bytearray(count)
        for p, q in pauses:
            t = p
            while t < q:
                index = (t - first) // 60
                if 0 <= index < count:
                    out[index] = 1
                t += 60
        return out

    def elapsed(self, start: int, end: int, pauses: Sequence[tuple[int, int]] = ()) -> int:
        """Business seconds in [start, end] minus pauses."""
        count = (end - start) // 60
        open_flags = self.flags(start, count)
        paused = self._paused(list(pauses), start, count)
        return 60 * sum(1 for i in range(count) if open_flags[i] and not paused[i])

    def due(self, start: int, seconds: int, pauses: Sequence[tuple[int, int]] = ()) -> int:
        """The first counting minute once ``seconds`` have been counted from ``start``."""
        assert seconds % 60 == 0
        for days in (12, MAX_DAYS):
            count = days * 1440
            open_flags = self.flags(start, count)
            paused = self._paused(list(pauses), start, count)
            remaining = seconds
            for i in range(count):
                if open_flags[i] and not paused[i]:
                    if remaining == 0:
                        return start + 60 * i
                    remaining -= 60
        raise OverflowError("due beyond the reference window")
