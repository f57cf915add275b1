"""The calendar document as a validated pydantic model.

``parse_calendar`` is the one entry point for untrusted input: it reports every
problem it finds as a ``FieldError`` whose field is a path such as
``hours.mon[1]``, ``timezone`` or ``holidays.dates[0]``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any, Literal

import holidays as holidays_lib
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.core.errors import FieldError, ValidationProblem
from app.core.zones import known_zone

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

# Names travel in URL paths, file names of exports and the board's markup: a safe slug only.
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class HolidaySpec(BaseModel):
    """Explicit holiday dates and/or a country (+subdivision) from the ``holidays`` package."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dates: list[dt.date] = Field(default_factory=list)
    country: str | None = None
    subdivision: str | None = None


class ExceptionSpec(BaseModel):
    """A one-off change to one date: new ``hours`` (``[]`` closes it) or ``closed`` parts of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: dt.date
    hours: list[str] | None = None
    closed: list[str] | None = None


class CalendarSpec(BaseModel):
    """A business-hours calendar: timezone, weekly hours, holidays and one-off exceptions."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Literal["calendar"] = "calendar"
    name: str | None = None
    timezone: str
    hours: dict[Weekday, list[str]] = Field(default_factory=dict)
    holidays: HolidaySpec = Field(default_factory=HolidaySpec)
    exceptions: list[ExceptionSpec] = Field(default_factory=list)

    def canonical_json(self) -> str:
        """A stable JSON text of the spec, equal for equal calendars (used as a cache key)."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def weekly_minutes(self) -> list[list[tuple[int, int]]]:
        """Working intervals per weekday (Monday first) as minutes from local midnight; end may pass 1440."""
        return [[parse_interval(text) for text in self.hours.get(day, [])] for day in WEEKDAYS]


def parse_interval(text: str) -> tuple[int, int]:
    """``"HH:MM-HH:MM"`` as (start, end) minutes; an end before the start runs past midnight."""
    match = _INTERVAL.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not an interval such as 09:00-17:00")
    sh, sm, eh, em = (int(g) for g in match.groups())
    if sh > 23 or sm > 59 or em > 59 or eh > 24 or (eh == 24 and em != 0):
        raise ValueError(f"{text!r} has a time outside 00:00-24:00")
    start, end = sh * 60 + sm, eh * 60 + em
    if start == end:
        raise ValueError(f"{text!r} starts when it ends; use 00:00-24:00 for a whole day")
    if end < start:
        if end == MINUTES_PER_DAY:
            raise ValueError(f"{text!r} cannot end at 24:00 before it starts")
        end += MINUTES_PER_DAY  # overnight: belongs to the day it starts
    return start, end


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "calendar"


def _pydantic_errors(exc: ValidationError) -> list[FieldError]:
    found: list[FieldError] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "literal_error" and len(loc) >= 2 and loc[0] == "hours":
            message = f"unknown weekday; use one of {', '.join(WEEKDAYS)}"
        elif err["type"] == "extra_forbidden":
            message = "unknown field"
        found.append(FieldError(_location(loc), message))
    return found


def _check_intervals(texts: Any, path: str, errors: list[FieldError]) -> list[tuple[int, int, str]]:
    parsed: list[tuple[int, int, str]] = []
    if not isinstance(texts, list):
        return parsed
    for i, text in enumerate(texts):
        try:
            start, end = parse_interval(text)
        except ValueError as exc:
            errors.append(FieldError(f"{path}[{i}]", str(exc)))
            continue
        parsed.append((start, end, f"{path}[{i}]"))
    return parsed


def _overlaps(a: tuple[int, int, str], b: tuple[int, int, str], period: int | None) -> bool:
    shifts = (0,) if period is None else (0, period, -period)
    return any(a[0] < b[1] + s and b[0] + s < a[1] for s in shifts)


def _report_overlaps(spans: list[tuple[int, int, str]], period: int | None, errors: list[FieldError]) -> None:
    for j, later in enumerate(spans):
        for earlier in spans[:j]:
            if _overlaps(earlier, later, period):
                errors.append(FieldError(later[2], f"overlaps {earlier[2]}"))
                break


def _check_name(name: Any, errors: list[FieldError]) -> None:
    # Checked at the door rather than in the model, so a calendar stored before the rule still loads.
    if isinstance(name, str) and not _NAME.fullmatch(name):
        errors.append(FieldError("name", "use 1-64 letters, digits, '-', '_' or '.'"))


def _check_timezone(name: Any, errors: list[FieldError]) -> None:
    if not isinstance(name, str):
        return
    try:
        known_zone(name)
    except ValueError as exc:
        errors.append(FieldError("timezone", str(exc)))


def _check_holidays(raw: Any, errors: list[FieldError]) -> None:
    if not isinstance(raw, Mapping):
        return
    country, subdivision = raw.get("country"), raw.get("subdivision")
    if not isinstance(country, str):
        if subdivision is not None and country is None:
            errors.append(FieldError("holidays.subdivision", "a subdivision needs a country"))
        return
    try:
        holidays_lib.country_holidays(country)
    except NotImplementedError:
        errors.append(FieldError("holidays.country", f"unknown holiday country {country!r}"))
        return
    if isinstance(subdivision, str):
        try:
            holidays_lib.country_holidays(country, subdiv=subdivision)
        except NotImplementedError:
            errors.append(FieldError("holidays.subdivision", f"{country} has no subdivision {subdivision!r}"))


def _check_exceptions(raw: Any, errors: list[FieldError]) -> bool:
    """Report bad exceptions; whether any of them adds working hours."""
    adds_hours = False
    if not isinstance(raw, list):
        return adds_hours
    seen: dict[str, int] = {}
    for i, exc in enumerate(raw):
        path = f"exceptions[{i}]"
        if not isinstance(exc, Mapping):
            continue
        if ("hours" in exc) == ("closed" in exc):
            errors.append(FieldError(path, "give exactly one of hours or closed"))
            continue
        day = str(exc.get("date"))
        if day in seen:
            errors.append(FieldError(f"{path}.date", f"repeats the date of exceptions[{seen[day]}]"))
        seen[day] = i
        key = "hours" if "hours" in exc else "closed"
        adds_hours = adds_hours or (key == "hours" and bool(exc[key]))
        _report_overlaps(_check_intervals(exc[key], f"{path}.{key}", errors), None, errors)
    return adds_hours


def _check_hours(raw: Any, errors: list[FieldError]) -> bool:
    """Report bad weekly hours; whether the week has any working time."""
    if not isinstance(raw, Mapping):
        return False
    weekly: list[tuple[int, int, str]] = []
    for offset, day in enumerate(WEEKDAYS):
        for start, end, path in _check_intervals(raw.get(day, []), f"hours.{day}", errors):
            weekly.append((start + offset * MINUTES_PER_DAY, end + offset * MINUTES_PER_DAY, path))
    # The week wraps: a Sunday overnight shift spills into Monday morning.
    _report_overlaps(weekly, MINUTES_PER_WEEK, errors)
    return any(isinstance(v, list) and v for k, v in raw.items() if k in WEEKDAYS)


def _semantic_errors(doc: Mapping[str, Any]) -> list[FieldError]:
    errors: list[FieldError] = []
    _check_name(doc.get("name"), errors)
    _check_timezone(doc.get("timezone"), errors)
    weekly_hours = _check_hours(doc.get("hours", {}), errors)
    _check_holidays(doc.get("holidays"), errors)
    exception_hours = _check_exceptions(doc.get("exceptions"), errors)
    if not (weekly_hours or exception_hours or any(e.field.startswith("hours.") for e in errors)):
        errors.append(FieldError("hours", "the calendar has no working time at all"))
    return errors


def parse_calendar(doc: Mapping[str, Any]) -> CalendarSpec:
    """Validate a calendar document; ``ValidationProblem`` lists one ``FieldError`` per problem."""
    if not isinstance(doc, Mapping):
        raise ValidationProblem.single("calendar", "a calendar must be a mapping")
    errors: list[FieldError] = []
    spec: CalendarSpec | None = None
    try:
        spec = CalendarSpec.model_validate(dict(doc))
    except ValidationError as exc:
        errors = _pydantic_errors(exc)
    known = {e.field for e in errors}
    errors += [e for e in _semantic_errors(doc) if e.field not in known]
    if errors or spec is None:
        raise ValidationProblem("invalid calendar", errors)
    return spec


BUILTIN_24X7 = CalendarSpec(
    name="24x7",
    timezone="UTC",
    hours={day: ["00:00-24:00"] for day in WEEKDAYS},
)
BUILTIN_CALENDARS: dict[str, CalendarSpec] = {"24x7": BUILTIN_24X7}
