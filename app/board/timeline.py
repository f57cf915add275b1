"""A ticket page's data: every clock with its timeline laid out for drawing, the event history, exemptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.board.service import STATES, board_state, paused_label
from app.calendars.engine import BusinessCalendar
from app.calendars.service import CalendarSet, load_set
from app.clocks import ticket_status
from app.core.errors import ValidationProblem
from app.tickets import service as ticket_service
from app.tickets.schemas import TicketStatusOut

# Enough to draw a few months of office hours; beyond it, the rest of a span is drawn as running.
MAX_PIECES_PER_SPAN = 400
MARKERS = (("warn_at", "warning"), ("target_at", "target"), ("due_at", "due"), ("breached_at", "breach"))


@dataclass(frozen=True)
class Piece:
    """One drawn stretch of a timeline: ``x`` and ``width`` in percent of the drawn range."""

    kind: str  # running | paused | closed | late | ahead
    start: datetime
    end: datetime
    x: float
    width: float
    label: str


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _calendar(calendars: CalendarSet, name: str, timezone: str | None) -> BusinessCalendar | None:
    if name not in calendars.compiled:
        return None
    return calendars.zoned(name, timezone) if timezone else calendars.compiled[name]


def split_by_hours(
    calendar: BusinessCalendar | None, start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime]]:
    """A running span cut into working (``running``) and outside-hours (``closed``) stretches."""
    if calendar is None:
        return [("running", start, end)]
    pieces: list[tuple[str, datetime, datetime]] = []
    cursor = start
    try:
        while cursor < end and len(pieces) < MAX_PIECES_PER_SPAN:
            is_open = calendar.is_open(cursor)
            turn = calendar.next_close(cursor) if is_open else calendar.next_open(cursor)
            stop = min(max(turn, cursor), end)
            if stop <= cursor:
                break
            pieces.append(("running" if is_open else "closed", cursor, stop))
            cursor = stop
    except ValidationProblem:  # never closes (24x7) or never opens again: the rest is one stretch
        pieces.append(("running" if calendar.is_open(cursor) else "closed", cursor, end))
        cursor = end
    if cursor < end:
        pieces.append(("running", cursor, end))
    return pieces


_LABELS = {"running": "counting", "closed": "outside business hours", "late": "counting past the limit"}


def _split_at(
    parts: list[tuple[str, datetime, datetime]], breach: datetime | None
) -> list[tuple[str, datetime, datetime]]:
    """Counting stretches after the breach instant become ``late``."""
    if breach is None:
        return parts
    out = []
    for kind, start, end in parts:
        if kind == "running" and start < breach < end:
            out += [("running", start, breach), ("late", breach, end)]
        else:
            out.append(("late" if kind == "running" and start >= breach else kind, start, end))
    return out


def lay_out(clock: dict[str, Any], calendars: CalendarSet, now: datetime) -> dict[str, Any]:
    """Pieces and markers of one clock, placed on a range from its start to its end (or due, or now)."""
    spans = clock.get("timeline") or []
    begin = _when(clock["started_at"]) or now
    instants = [now, *(_when(clock.get(name)) for name, _ in MARKERS), *(_when(s.get("end")) for s in spans)]
    finish = _when(clock.get("stopped_at")) or max(i for i in instants if i is not None)
    finish = max(finish, begin)
    total = (finish - begin).total_seconds() or 1.0

    def place(a: datetime, b: datetime) -> tuple[float, float]:
        x = max(0.0, (a - begin).total_seconds() / total * 100)
        return round(x, 3), round(max(0.0, min(100.0, (b - begin).total_seconds() / total * 100) - x), 3)

    breach = _when(clock.get("breached_at"))
    pieces: list[Piece] = []
    for span in spans:
        # An open span has happened up to now; what lies between now and the due instant is still ahead.
        a, b = _when(span["start"]) or begin, min(_when(span.get("end")) or now, finish)
        if span["kind"] == "paused":
            parts = [("paused", a, b)]
        else:
            parts = split_by_hours(_calendar(calendars, span["calendar"], span.get("timezone")), a, b)
        for kind, start, end in _split_at(parts, breach):
            label = _LABELS.get(kind, "")
            if kind == "paused":
                label = f"paused: {paused_label(span.get('reason'), None)}"
            pieces.append(Piece(kind, start, end, *place(start, end), label))
    if clock.get("state") == "running" and now < finish:
        pieces.append(Piece("ahead", now, finish, *place(now, finish), "still to come"))
    markers = []
    for name, kind in (*MARKERS, ("now", "now")):
        at = now if name == "now" else _when(clock.get(name))
        if at is not None and begin <= at <= finish:
            markers.append({"kind": kind, "at": at, "x": place(at, at)[0]})
    return {"begin": begin, "finish": finish, "pieces": pieces, "markers": markers}


def ticket_page(session: Session, source: str, key: str, now: datetime) -> dict[str, Any]:
    """Everything the ticket page shows, as of ``now``."""
    ticket = ticket_service.get(session, source, key)
    status: TicketStatusOut = ticket_status.current(session, ticket, now)
    calendars = load_set(session)
    clocks = []
    for clock in status.clocks:
        state = board_state(clock, now) if clock["state"] in {"running", "paused"} else clock["state"]
        if clock["state"] == "stopped":
            state = "met" if clock.get("met") else "breached"
        clocks.append(
            {
                **clock,
                "board_state": state,
                "paused_label": paused_label(clock.get("paused_reason"), status.ticket.status),
                "drawing": lay_out(clock, calendars, now),
            }
        )
    events = [row.body | {"received_at": row.received_at} for row in ticket_service.events_of(session, ticket)]
    return {"status": status, "clocks": clocks, "events": events, "states": STATES}
