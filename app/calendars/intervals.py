"""Expanding a calendar spec into concrete UTC working intervals, one local year at a time.

Each wall-clock boundary is turned into an instant on its own (fold=0), so an
interval is the real time between its two boundaries: 01:30-02:30 on a
spring-forward day lasts one hour, 02:00-03:00 on that day is empty. An
exception's hours replace the intervals that start on its date; where they
meet the previous day's overnight spill, the two are joined (union).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from app.calendars.spec import CalendarSpec, parse_interval

Span = tuple[int, int]


@dataclass(frozen=True)
class CalendarPlan:
    """A spec reduced to what expansion needs: zone, weekly minutes, holiday dates and exceptions."""

    tz: ZoneInfo
    weekly: tuple[tuple[Span, ...], ...]
    holiday_dates: frozenset[dt.date]
    country: str | None
    subdivision: str | None
    replaced_hours: dict[dt.date, tuple[Span, ...]]
    closed_parts: dict[dt.date, tuple[Span, ...]]

    @classmethod
    def from_spec(cls, spec: CalendarSpec) -> CalendarPlan:
        """Parse the spec's interval texts once."""
        replaced: dict[dt.date, tuple[Span, ...]] = {}
        closed: dict[dt.date, tuple[Span, ...]] = {}
        for exc in spec.exceptions:
            if exc.hours is not None:
                replaced[exc.date] = tuple(parse_interval(t) for t in exc.hours)
            else:
                closed[exc.date] = tuple(parse_interval(t) for t in exc.closed or [])
        return cls(
            tz=ZoneInfo(spec.timezone),
            weekly=tuple(tuple(day) for day in spec.weekly_minutes()),
            holiday_dates=frozenset(spec.holidays.dates),
            country=spec.holidays.country,
            subdivision=spec.holidays.subdivision,
            replaced_hours=replaced,
            closed_parts=closed,
        )

    def holidays_in(self, year: int) -> set[dt.date]:
        """Holiday dates of one local year (explicit and from the country's rules)."""
        found = {d for d in self.holiday_dates if d.year == year}
        if self.country is not None:
            found.update(holidays_lib.country_holidays(self.country, subdiv=self.subdivision, years=year).keys())
        return found


def wall_to_epoch(tz: ZoneInfo, day: dt.date, minutes: int) -> int:
    """UTC epoch seconds of ``minutes`` after local midnight of ``day``; gaps and folds read with fold=0."""
    naive = dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minutes)
    aware = naive.replace(tzinfo=tz)  # fold=0: the offset in force before a transition
    return int((aware - _EPOCH) // _SECOND)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SECOND = dt.timedelta(seconds=1)


def year_spans(plan: CalendarPlan, year: int) -> tuple[list[Span], list[Span]]:
    """Working spans and closed spans (UTC epoch seconds) of the dates of one local year, unmerged."""
    tz = plan.tz
    holidays = plan.holidays_in(year)
    opens: list[Span] = []
    closed: list[Span] = []
    day = dt.date(year, 1, 1)
    one_day = dt.timedelta(days=1)
    while day.year == year:
        minutes = plan.replaced_hours.get(day)
        if minutes is None:
            minutes = () if day in holidays else plan.weekly[day.weekday()]
        for start, end in minutes:
            opens.append((wall_to_epoch(tz, day, start), wall_to_epoch(tz, day, end)))
        for start, end in plan.closed_parts.get(day, ()):
            closed.append((wall_to_epoch(tz, day, start), wall_to_epoch(tz, day, end)))
        day += one_day
    return opens, closed


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted union of spans; touching spans join, empty or inverted ones (DST gaps) vanish."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(opens: list[Span], closed: list[Span]) -> list[Span]:
    """``opens`` minus ``closed``, both merged and sorted."""
    if not closed:
        return opens
    out: list[Span] = []
    j = 0
    for start, end in opens:
        cur = start
        while j < len(closed) and closed[j][1] <= cur:
            j += 1
        k = j
        while k < len(closed) and closed[k][0] < end:
            if closed[k][0] > cur:
                out.append((cur, closed[k][0]))
            cur = max(cur, closed[k][1])
            k += 1
        if cur < end:
            out.append((cur, end))
    return out
