"""Storing calendars and loading them compiled for the clock engine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.calendars.engine import BusinessCalendar, compile_calendar
from app.calendars.models import CalendarRow
from app.calendars.spec import BUILTIN_CALENDARS, CalendarSpec, parse_calendar
from app.core.errors import Conflict, NotFound, ValidationProblem


def parse_named(doc: Mapping[str, Any], name: str | None = None) -> CalendarSpec:
    """A validated calendar document that carries a usable name (``name`` overrides the document's)."""
    spec = parse_calendar({**doc, "name": name} if name else doc)
    if not spec.name:
        raise ValidationProblem.single("name", "a stored calendar needs a name")
    if spec.name in BUILTIN_CALENDARS:
        raise ValidationProblem.single("name", f"{spec.name!r} is built in and cannot be redefined")
    return spec


def spec_of(row: CalendarRow) -> CalendarSpec:
    return CalendarSpec.model_validate(row.spec)


def find(session: Session, name: str) -> CalendarRow | None:
    return session.scalar(select(CalendarRow).where(CalendarRow.name == name))


def get(session: Session, name: str) -> CalendarSpec:
    """The calendar ``name`` (built-in or stored), or ``NotFound``."""
    if name in BUILTIN_CALENDARS:
        return BUILTIN_CALENDARS[name]
    row = find(session, name)
    if row is None:
        raise NotFound(f"no calendar named {name!r}")
    return spec_of(row)


def list_all(session: Session) -> list[CalendarSpec]:
    """Built-in calendars, then stored ones by name."""
    rows = session.scalars(select(CalendarRow).order_by(CalendarRow.name))
    return [*BUILTIN_CALENDARS.values(), *(spec_of(row) for row in rows)]


def upsert(session: Session, spec: CalendarSpec, now: datetime) -> tuple[str, CalendarRow]:
    """Create or replace a calendar; returns ("created" | "updated" | "unchanged", row)."""
    assert spec.name is not None
    row = find(session, spec.name)
    body = spec.model_dump(mode="json")
    if row is None:
        row = CalendarRow(name=spec.name, spec=body, created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return "created", row
    if spec_of(row).canonical_json() == spec.canonical_json():
        return "unchanged", row
    row.spec = body
    row.updated_at = now
    session.flush()
    return "updated", row


def delete(session: Session, name: str, used_by: list[str]) -> None:
    """Delete a calendar that no published policy version uses (``used_by`` lists those that do)."""
    row = find(session, name)
    if row is None:
        raise NotFound(f"no calendar named {name!r}")
    if used_by:
        raise Conflict(f"calendar {name!r} is used by policies: {', '.join(sorted(used_by))}")
    session.delete(row)
    session.flush()


def known_names(session: Session) -> set[str]:
    """Every calendar name a policy may refer to."""
    return set(BUILTIN_CALENDARS) | set(session.scalars(select(CalendarRow.name)))


class CalendarSet:
    """The compiled calendars of one moment, with the ticket-timezone variant the engine asks for."""

    def __init__(self, specs: Mapping[str, CalendarSpec]) -> None:
        self.specs = dict(specs)
        self.compiled: dict[str, BusinessCalendar] = {n: compile_calendar(s) for n, s in self.specs.items()}

    def zoned(self, name: str, timezone: str) -> BusinessCalendar:
        """Calendar ``name`` with its hours read in ``timezone`` (a ticket's own zone)."""
        return compile_calendar(self.specs[name].model_copy(update={"timezone": timezone}))


def load_set(session: Session) -> CalendarSet:
    """Every calendar, compiled (compilation is cached across calls by spec)."""
    specs: dict[str, CalendarSpec] = dict(BUILTIN_CALENDARS)
    for row in session.scalars(select(CalendarRow)):
        specs[row.name] = spec_of(row)
    return CalendarSet(specs)
