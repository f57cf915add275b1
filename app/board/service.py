"""The board's data: open clocks with live numbers, their board state, and when each one ticks.

Numbers come from ``app.clocks.service.view`` (the same live figures as the REST
API); this module only adds what a screen needs: ticket title and link, a state
a human reads at a glance, and the calendar window that tells the page's script
until when a countdown moves and when it stands still.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.calendars.engine import BusinessCalendar
from app.calendars.service import CalendarSet, load_set
from app.clocks import service as clock_service
from app.clocks.models import OPEN_STATES, ClockRow
from app.clocks.service import ClockFilter
from app.core.errors import ValidationProblem
from app.core.instants import utc_iso
from app.core.pagination import MAX_PAGE
from app.tickets.models import TicketRow

FILTERS = ("source", "project", "tier", "priority", "assignee", "metric", "state")
STATES = ("breached", "over_target", "warning", "ok", "paused")
# Beyond this many open clocks the board shows the soonest and says it left the rest out.
MAX_ROWS = 20_000
# A calendar open for the whole look-ahead needs no closing instant: the page refetches long before.
LOOK_AHEAD = timedelta(hours=24)


@dataclass(frozen=True)
class BoardFilter:
    """The board's filters, each a list of accepted values (empty: any)."""

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, pairs: Iterable[tuple[str, str]]) -> BoardFilter:
        """From query-string pairs; unknown names are ignored, an unknown state is refused."""
        found: dict[str, list[str]] = {}
        for name, value in pairs:
            if name in FILTERS and value.strip():
                found.setdefault(name, []).append(value.strip())
        bad = [s for s in found.get("state", []) if s not in STATES]
        if bad:
            raise ValidationProblem.single("state", f"must be one of {', '.join(STATES)}; got {bad[0]!r}")
        return cls({k: tuple(v) for k, v in found.items()})

    def get(self, name: str) -> tuple[str, ...]:
        return self.values.get(name, ())

    def as_pairs(self) -> list[tuple[str, str]]:
        """Query-string pairs in a stable order (for links and wallboards)."""
        return [(name, value) for name in FILTERS for value in self.get(name)]

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(self.get(name)) for name in FILTERS if self.get(name)}


@dataclass(frozen=True)
class Window:
    """Whether a clock's calendar is open now, until when, or when it opens next (None: not known)."""

    open: bool
    until: datetime | None
    opens_at: datetime | None


def calendar_window(calendar: BusinessCalendar, now: datetime) -> Window:
    """The calendar's state at ``now``, with the next instant at which it changes (within a day)."""
    try:
        if calendar.is_open(now):
            if calendar.elapsed(now, now + LOOK_AHEAD) >= LOOK_AHEAD.total_seconds():
                return Window(True, None, None)  # open all day ahead (24x7): nothing to stop for
            return Window(True, calendar.next_close(now), None)
        return Window(False, None, calendar.next_open(now))
    except ValidationProblem:  # a calendar that never opens (again)
        return Window(False, None, None)


def board_state(view: Mapping[str, Any], now: datetime) -> str:
    """``breached``, ``over_target``, ``warning`` (past ``warn_at``), ``ok`` or ``paused``."""
    if view.get("breached"):
        return "breached"
    if view.get("state") == "paused":
        return "paused"
    if view.get("over_target"):
        return "over_target"
    warn_at = view.get("warn_at")
    if warn_at and datetime.fromisoformat(str(warn_at).replace("Z", "+00:00")) <= now:
        return "warning"
    return "ok"


def paused_label(reason: str | None, ticket_status: str | None) -> str:
    """A paused clock's reason for people: ``status_category:waiting`` reads as the ticket's status."""
    if not reason:
        return "paused"
    kind, _, detail = reason.partition(":")
    if kind == "status_category":
        return (ticket_status or detail).lower()
    if kind in {"status", "exclusion"}:
        return detail
    if kind == "field":
        return f"{detail} is set"
    return reason


def _open_clocks(session: Session, f: BoardFilter, now: datetime) -> tuple[list[ClockRow], bool]:
    """Every open clock matching the clock-level filters, soonest ``due_at`` first."""
    clock_filter = ClockFilter(
        state=list(OPEN_STATES),
        metric=list(f.get("metric")) or None,
        tier=list(f.get("tier")) or None,
        priority=list(f.get("priority")) or None,
        assignee=list(f.get("assignee")) or None,
        source=list(f.get("source")) or None,
    )
    rows: list[ClockRow] = []
    cursor: str | None = None
    while True:
        page, cursor = clock_service.list_clocks(session, clock_filter, now, limit=MAX_PAGE, cursor=cursor)
        rows += page
        if cursor is None or len(rows) >= MAX_ROWS:
            return rows[:MAX_ROWS], cursor is not None


def _tickets(session: Session, ids: set[int]) -> dict[int, TicketRow]:
    found: dict[int, TicketRow] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 900):  # stay under SQLite's bound-parameter limit
        chunk = ordered[start : start + 900]
        found.update({t.id: t for t in session.scalars(select(TicketRow).where(TicketRow.id.in_(chunk)))})
    return found


class _Calendars:
    """Compiled calendars by (name, timezone), looked up once per request."""

    def __init__(self, calendars: CalendarSet) -> None:
        self.set = calendars
        self._cache: dict[tuple[str, str | None], BusinessCalendar | None] = {}

    def get(self, name: str, timezone: str | None) -> BusinessCalendar | None:
        key = (name, timezone)
        if key not in self._cache:
            known = name in self.set.compiled
            self._cache[key] = (
                None if not known else self.set.zoned(name, timezone) if timezone else self.set.compiled[name]
            )
        return self._cache[key]


def link_url(url: str | None) -> str | None:
    """A ticket's URL fit for a link: http(s) only. Sources send what their users typed; a
    ``javascript:`` or ``data:`` URL in an ``href`` would run in the board's origin when clicked."""
    if url is None:
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    return url if scheme in ("http", "https") else None


def board_row(clock: ClockRow, ticket: TicketRow, calendars: _Calendars, now: datetime) -> dict[str, Any]:
    """One board row: the clock's live view, its ticket, its board state and its calendar window."""
    view = clock_service.view(clock, calendars.set, now)
    calendar = calendars.get(clock.calendar, clock.timezone)
    window = calendar_window(calendar, now) if calendar and clock.state == "running" else Window(False, None, None)
    remaining = int(view.get("remaining_seconds", clock.limit_seconds - clock.elapsed_seconds))
    return {
        "id": clock.id,
        "source": clock.source,
        "key": clock.ticket_key,
        "title": ticket.title,
        "url": link_url(ticket.url),
        "project": ticket.project,
        "tier": clock.tier,
        "priority": clock.priority,
        "assignee": clock.assignee,
        "metric": clock.metric,
        "cycle": clock.cycle,
        "clock_state": clock.state,
        "state": board_state(view, now),
        "remaining_seconds": remaining,
        "limit_seconds": clock.limit_seconds,
        "target_seconds": clock.target_seconds,
        "percent": view.get("percent"),
        "due_at": view.get("due_at"),
        "target_at": view.get("target_at"),
        "warn_at": view.get("warn_at"),
        "paused": clock.state == "paused",
        "paused_label": paused_label(clock.paused_reason, ticket.status) if clock.state == "paused" else None,
        "open": window.open,
        "open_until": utc_iso(window.until),
        "opens_at": utc_iso(window.opens_at),
        # Soonest possible breach: the due instant, or for a paused clock "if it resumed now".
        "sort_at": utc_iso(_breach_bound(view, remaining, now).replace(microsecond=0)),
    }


def _breach_bound(view: Mapping[str, Any], remaining: int, now: datetime) -> datetime:
    due = view.get("due_at")
    if due and view.get("state") == "running":
        return datetime.fromisoformat(str(due).replace("Z", "+00:00"))
    return now + timedelta(seconds=remaining)


def board_data(session: Session, f: BoardFilter, now: datetime) -> dict[str, Any]:
    """Rows (soonest breach first) and counts per state for the board's filters, as of ``now``."""
    clocks, truncated = _open_clocks(session, f, now)
    tickets = _tickets(session, {c.ticket_id for c in clocks})
    projects = set(f.get("project"))
    calendars = _Calendars(load_set(session))
    rows = [
        board_row(clock, tickets[clock.ticket_id], calendars, now)
        for clock in clocks
        if clock.ticket_id in tickets and (not projects or tickets[clock.ticket_id].project in projects)
    ]
    rows.sort(key=lambda r: (r["sort_at"], r["id"]))
    counts = dict.fromkeys(STATES, 0)
    for row in rows:
        counts[row["state"]] += 1
    wanted = set(f.get("state"))
    shown = [r for r in rows if not wanted or r["state"] in wanted]
    return {
        "now": utc_iso(now),
        "filters": f.as_dict(),
        "counts": counts,
        "total": len(rows),
        "truncated": truncated,
        "shown": len(shown),
        "rows": shown,
    }


def filter_options(session: Session) -> dict[str, list[str]]:
    """The values each filter can take among open clocks (for the board's drop-downs)."""
    open_clocks = ClockRow.state.in_(OPEN_STATES)
    options: dict[str, list[str]] = {}
    for name in ("source", "tier", "priority", "assignee", "metric"):
        column = getattr(ClockRow, name)
        values = session.scalars(select(column).distinct().where(open_clocks, column.is_not(None)).order_by(column))
        options[name] = list(values)
    projects = select(TicketRow.project).distinct().join(ClockRow, ClockRow.ticket_id == TicketRow.id)
    options["project"] = list(
        session.scalars(projects.where(open_clocks, TicketRow.project.is_not(None)).order_by(TicketRow.project))
    )
    options["state"] = list(STATES)
    return options
