"""Hypothesis strategies: random calendars and whole-minute instants near DST transitions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import assume
from hypothesis import strategies as st

from app.calendars.spec import CalendarSpec, parse_calendar
from app.core.errors import ValidationProblem

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Apia",
]
YEARS = {"America/Sao_Paulo": (2018, 2019), "Pacific/Apia": (2011, 2012)}
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

# Day templates chosen to hit the conventions: whole days, split shifts, overnight shifts,
# and hours in the small hours where DST transitions happen.
PALETTE: list[list[str]] = [
    [],
    ["00:00-24:00"],
    ["09:00-17:00"],
    ["08:00-12:00", "13:00-17:30"],
    ["22:00-06:00"],
    ["01:30-03:30"],
    ["00:00-02:30", "20:00-24:00"],
    ["02:00-03:00", "12:15-12:45"],
    ["06:00-24:00"],
    ["23:00-01:00"],
]


@cache
def transition_days(zone: str) -> list[dt.date]:
    """Local dates on which ``zone`` changes its UTC offset in the years the tests look at."""
    tz = ZoneInfo(zone)
    first, last = YEARS.get(zone, (2024, 2025))
    found = []
    day = dt.date(first, 1, 1)
    while day.year <= last:
        before = dt.datetime.combine(day, dt.time(0), tzinfo=tz).utcoffset()
        after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).utcoffset()
        if before != after:
            found.append(day)
        day += dt.timedelta(days=1)
    return found or [dt.date(first, 6, 1)]


def _fmt(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def _day_from_points(draw: st.DrawFn) -> list[str]:
    """One to three random, non-overlapping intervals on a 15-minute grid; the last may run overnight."""
    points = sorted(draw(st.sets(st.integers(0, 96), min_size=2, max_size=6)))
    if len(points) % 2:
        points = points[:-1]
    intervals = [(points[i] * 15, points[i + 1] * 15) for i in range(0, len(points), 2)]
    out = [f"{_fmt(s)}-{_fmt(e)}" for s, e in intervals]
    if draw(st.booleans()) and intervals[-1][1] < 1440:
        tail = intervals[-1][1] + 60
        if tail < 1440:
            out.append(f"{_fmt(tail)}-{_fmt(draw(st.integers(0, 8)) * 15)}")
    return out


day_hours = st.one_of(st.sampled_from(PALETTE), _day_from_points())


@dataclass(frozen=True)
class Case:
    """A calendar and a window start (epoch seconds, whole minute) near one of its zone's transitions."""

    spec: CalendarSpec
    start: int
    window_days: int


@st.composite
def cases(draw: st.DrawFn, window_days: int = 6) -> Case:
    """A valid random calendar plus a start instant close to a DST transition of its zone."""
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(transition_days(zone)))
    if zone == "Pacific/Apia" and draw(st.booleans()):
        anchor = dt.date(2011, 12, 29)  # the day before Samoa skipped 2011-12-30
    first_day = anchor - dt.timedelta(days=draw(st.integers(0, 3)))
    hours = {day: draw(day_hours) for day in DAYS}
    hours = {k: v for k, v in hours.items() if v}
    window = [first_day + dt.timedelta(days=i) for i in range(window_days + 2)]
    doc: dict[str, Any] = {"name": "random", "timezone": zone, "hours": hours}
    holidays = draw(st.lists(st.sampled_from(window), max_size=2, unique=True))
    if holidays:
        doc["holidays"] = {"dates": [d.isoformat() for d in holidays]}
    if draw(st.integers(0, 9)) == 0:
        doc.setdefault("holidays", {})["country"] = "DE"
    exception_days = draw(st.lists(st.sampled_from(window), max_size=2, unique=True))
    exceptions = []
    for day in exception_days:
        if draw(st.booleans()):
            exceptions.append({"date": day.isoformat(), "hours": draw(day_hours)})
        else:
            exceptions.append({"date": day.isoformat(), "closed": draw(st.sampled_from(PALETTE[1:]))})
    if exceptions:
        doc["exceptions"] = exceptions
    spec = _repaired(doc)
    tz = ZoneInfo(zone)
    midnight = dt.datetime.combine(first_day, dt.time(0), tzinfo=tz)
    start = int(midnight.timestamp()) // 60 * 60 + 60 * draw(st.integers(0, 2 * 1440))
    return Case(spec, start, window_days)


def _repaired(doc: dict[str, Any]) -> CalendarSpec:
    """Parse ``doc``, dropping weekly intervals the validator refuses (mostly overnight overlaps) once."""
    try:
        return parse_calendar(doc)
    except ValidationProblem as exc:
        refused = {e.field for e in exc.errors}
    hours = {
        day: [text for i, text in enumerate(texts) if f"hours.{day}[{i}]" not in refused]
        for day, texts in doc["hours"].items()
    }
    try:
        return parse_calendar({**doc, "hours": hours})
    except ValidationProblem:
        assume(False)
        raise


def minutes(max_minutes: int) -> st.SearchStrategy[int]:
    """Whole-minute durations in seconds, with 0 and small values likely."""
    return st.integers(0, max_minutes).map(lambda m: 60 * m)


def pauses(start: int, span_minutes: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    """Up to three whole-minute pauses that may overlap and stick out of the window."""
    pause = st.tuples(st.integers(-120, span_minutes + 120), st.integers(0, 600)).map(
        lambda p: (start + 60 * p[0], start + 60 * (p[0] + p[1]))
    )
    return st.lists(pause, max_size=3)
