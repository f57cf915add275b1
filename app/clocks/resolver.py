"""The calendar interface the clock engine needs, and the lookup of a (calendar, timezone) pair."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from app.core.errors import ValidationProblem


class BusinessCalendarLike(Protocol):
    """The part of ``app.calendars.engine.BusinessCalendar`` the clock engine uses."""

    def elapsed(
        self, start: dt.datetime, end: dt.datetime, pauses: Sequence[tuple[dt.datetime, dt.datetime]] = ...
    ) -> int: ...

    def due(
        self, start: dt.datetime, business_seconds: int, pauses: Sequence[tuple[dt.datetime, dt.datetime]] = ...
    ) -> dt.datetime: ...


# (calendar name, IANA zone) -> that calendar's hours read in that zone.
ZonedCalendarFactory = Callable[[str, str], BusinessCalendarLike]


class CalendarResolver:
    """Finds the calendar a span counts on, re-zoned to the ticket's timezone when the target asks."""

    def __init__(
        self, calendars: Mapping[str, BusinessCalendarLike], zoned: ZonedCalendarFactory | None = None
    ) -> None:
        self._calendars = calendars
        self._zoned = zoned
        self._cache: dict[tuple[str, str], BusinessCalendarLike] = {}

    def __call__(self, name: str, timezone: str | None = None) -> BusinessCalendarLike:
        """The calendar ``name``, in ``timezone`` when given and possible, else in its own zone."""
        calendar = self._calendars.get(name)
        if calendar is None:
            raise KeyError(f"calendar {name!r} is not loaded")
        if timezone is None or self._zoned is None:
            return calendar
        key = (name, timezone)
        zoned = self._cache.get(key)
        if zoned is None:
            try:
                zoned = self._zoned(name, timezone)
            except (KeyError, ValueError, ValidationProblem):
                # An unknown zone from a source field must not stop the clock: count in the calendar's own zone.
                zoned = calendar
            self._cache[key] = zoned
        return zoned
