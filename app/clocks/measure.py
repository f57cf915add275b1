"""Measuring a clock from its spans: elapsed business time, and the instant it reaches a given amount."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import NamedTuple

from app.clocks.resolver import BusinessCalendarLike, CalendarResolver, ZonedCalendarFactory
from app.clocks.state import ClockState, ClockStatus, Span


class _Run(NamedTuple):
    """A running span, the calendar it counts on and, once it has ended, the business seconds it counted."""

    span: Span
    calendar: BusinessCalendarLike
    seconds: int | None


def _runs(spans: Sequence[Span], resolve: CalendarResolver) -> Iterator[_Run]:
    """The running spans, each closed one measured (lazily: a walk that stops early measures no further)."""
    for span in spans:
        if span.kind == "running":
            calendar = resolve(span.calendar, span.timezone)
            seconds = None if span.end is None else calendar.elapsed(span.start, max(span.start, span.end))
            yield _Run(span, calendar, seconds)


def _elapsed(runs: Iterable[_Run], until: dt.datetime) -> int:
    total = 0
    for span, calendar, seconds in runs:
        total += calendar.elapsed(span.start, max(span.start, until)) if seconds is None else seconds
    return total


def _instant(runs: Iterable[_Run], business_seconds: int) -> dt.datetime | None:
    counted = 0
    for span, calendar, seconds in runs:
        # Ahead in the open span, or strictly past in a closed one (stopping exactly on the amount is not beyond it).
        if seconds is None or counted + seconds > business_seconds:
            return _utc(calendar.due(span.start, max(0, business_seconds - counted)))
        counted += seconds
    return None


def elapsed_in(spans: Sequence[Span], until: dt.datetime, resolve: CalendarResolver) -> int:
    """Business seconds counted by the running spans; an open span counts up to ``until``."""
    return _elapsed(_runs(spans, resolve), until)


def instant_in(spans: Sequence[Span], business_seconds: int, resolve: CalendarResolver) -> dt.datetime | None:
    """When the spans' elapsed time passes ``business_seconds``: in a closed span, or ahead in the open running one.

    ``None`` when the clock is not running and has not got there. Each span is
    measured with one ``elapsed`` and the answer is one ``due``: no stepping.
    """
    return _instant(_runs(spans, resolve), business_seconds)


def instant_at_elapsed(
    clock: ClockState,
    calendars: Mapping[str, BusinessCalendarLike],
    business_seconds: int,
    *,
    ticket_timezone_calendar: ZonedCalendarFactory | None = None,
) -> dt.datetime | None:
    """When ``clock`` reaches ``business_seconds`` elapsed (past, or future while running), for warnings."""
    return instant_in(clock.timeline, business_seconds, CalendarResolver(calendars, ticket_timezone_calendar))


# Elapsed time is counted in whole seconds: a clock is breached one second past the latest instant at
# which its elapsed time still equals the limit (``due_at``), its first instant *over* the limit.
BREACH_STEP = dt.timedelta(seconds=1)


def breach_instant(due_at: dt.datetime) -> dt.datetime:
    """When a clock due at ``due_at`` is breached, if it keeps running: the one instant ``breached_at``,
    the board's breach marker and the ``breach`` escalation level all use."""
    return due_at + BREACH_STEP


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(dt.UTC)


def measured_state(
    base: dict[str, object],
    spans: Sequence[Span],
    *,
    limit: int,
    target: int,
    warn_elapsed: int | None,
    until: dt.datetime,
    resolve: CalendarResolver,
) -> dict[str, object]:
    """``base`` (identity and status fields of a ``ClockState``) completed with every number and instant."""
    status = base["state"]
    # Every running span is resolved and measured once, for the elapsed total and for each instant below.
    runs = list(_runs(spans, resolve))
    elapsed = _elapsed(runs, until)
    breached = elapsed > limit
    running = status is ClockStatus.running
    # Due and breach are one instant, and the target's too without a separate limit: each amount measured once.
    measured: dict[int, dt.datetime | None] = {}

    def reached(seconds: int) -> dt.datetime | None:
        if seconds not in measured:
            measured[seconds] = _instant(runs, seconds)
        return measured[seconds]

    due = reached(limit)

    return {
        **base,
        "target_seconds": target,
        "limit_seconds": limit,
        "elapsed_seconds": elapsed,
        "remaining_seconds": limit - elapsed,
        "percent": round(100 * elapsed / limit, 2),
        "breached": breached,
        "over_target": target < elapsed <= limit,
        "met": (not breached) if status is ClockStatus.stopped else None,
        "due_at": due if running else None,
        "target_at": reached(target),
        "warn_at": None if warn_elapsed is None else reached(warn_elapsed),
        "breached_at": breach_instant(due) if breached and due is not None else None,
        "timeline": list(spans),
    }
