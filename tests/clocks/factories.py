"""Small keyword-only factories for clock tests: events, policies, calendars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from app.calendars.engine import compile_calendar
from app.calendars.spec import BUILTIN_24X7, parse_calendar
from app.clocks import ClockState, ExclusionWindow, evaluate
from app.clocks.resolver import BusinessCalendarLike
from app.policies import PolicySpec, parse_policy
from app.tickets.events import NormalizedEvent

MONDAY = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC

OFFICE_DOC: dict[str, Any] = {
    "name": "office",
    "timezone": "UTC",
    "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
}
CALENDARS: dict[str, BusinessCalendarLike] = {
    "24x7": compile_calendar(BUILTIN_24X7),
    "office": compile_calendar(parse_calendar(OFFICE_DOC)),
}


def zoned(name: str, tz: str) -> BusinessCalendarLike:
    """The ticket-timezone factory: a test calendar's hours read in ``tz``."""
    doc = OFFICE_DOC if name == "office" else BUILTIN_24X7.model_dump(mode="json")
    return compile_calendar(parse_calendar({**doc, "timezone": tz}))


def t(*, days: int = 0, hours: float = 0, minutes: float = 0, start: datetime = MONDAY) -> datetime:
    """An instant relative to ``start`` (Monday 09:00 UTC by default)."""
    return start + timedelta(days=days, hours=hours, minutes=minutes)


def created(
    *,
    at: datetime = MONDAY,
    id: str = "e00-created",
    priority: str = "P3",
    tier: str = "standard",
    status: str = "Open",
    category: str = "open",
    source: str = "api",
    **extra: Any,
) -> NormalizedEvent:
    ticket = {"priority": priority, "tier": tier, "status": status, "status_category": category, **extra}
    return _event(type="created", at=at, id=id, source=source, ticket=ticket)


def comment(*, at: datetime, id: str, role: str = "agent", public: bool | None = True) -> NormalizedEvent:
    return _event(type="comment", at=at, id=id, author_role=role, public=public)


def status(*, at: datetime, id: str, to: str, category: str) -> NormalizedEvent:
    return _event(type="status_changed", at=at, id=id, to=to, to_category=category)


def priority(*, at: datetime, id: str, to: str) -> NormalizedEvent:
    return _event(type="priority_changed", at=at, id=id, to=to)


def field(*, at: datetime, id: str, name: str, value: Any) -> NormalizedEvent:
    return _event(type="field_changed", at=at, id=id, field=name, value=value)


def deleted(*, at: datetime, id: str) -> NormalizedEvent:
    return _event(type="deleted", at=at, id=id)


def _event(**data: Any) -> NormalizedEvent:
    data.setdefault("source", "api")
    return NormalizedEvent.model_validate({"key": "T-1", **{k: v for k, v in data.items() if v is not None}})


def policy(
    *, targets: list[dict[str, Any]] | None = None, metrics: dict[str, Any] | None = None, **extra: Any
) -> PolicySpec:
    """A valid policy: by default first_response 1h / resolution 8h on 24x7 for every ticket."""
    doc: dict[str, Any] = {
        "kind": "policy",
        "name": "test",
        "targets": targets or [{"first_response": {"target": "1h"}, "resolution": {"target": "8h"}}],
        **extra,
    }
    if metrics is not None:
        doc["metrics"] = metrics
    return parse_policy(doc, known_calendars=CALENDARS.keys())


def run(
    spec: PolicySpec,
    events: Sequence[NormalizedEvent],
    *,
    now: datetime,
    exclusions: Sequence[ExclusionWindow] = (),
    timezone_aware: bool = False,
) -> list[ClockState]:
    return evaluate(
        spec, CALENDARS, events, now, exclusions=exclusions, ticket_timezone_calendar=zoned if timezone_aware else None
    )


def only(states: Sequence[ClockState], metric: str, cycle: int = 1) -> ClockState:
    """The one clock of ``metric`` in ``cycle``."""
    found = [s for s in states if s.metric == metric and s.cycle == cycle]
    assert len(found) == 1, [(s.metric, s.cycle) for s in states]
    return found[0]
