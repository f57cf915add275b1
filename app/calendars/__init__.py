"""Business-hours calendars: the spec and the pure business-time engine."""

from app.calendars.engine import BusinessCalendar, compile_calendar
from app.calendars.spec import BUILTIN_24X7, BUILTIN_CALENDARS, CalendarSpec, parse_calendar

__all__ = [
    "BUILTIN_24X7",
    "BUILTIN_CALENDARS",
    "BusinessCalendar",
    "CalendarSpec",
    "compile_calendar",
    "parse_calendar",
]
