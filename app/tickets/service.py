"""The ticket log: append normalized events idempotently, and read tickets and their events.

Appending is all or nothing for the caller's transaction: the caller validated every event before
this runs. Events for a ticket whose ``created`` event has not arrived yet are accepted and held:
they are logged, the ticket exists with what they say, and its clocks start once ``created``
arrives (sync and webhooks may deliver out of order). Projecting the clocks is not this module's
business: ``app.ingestion.flow`` calls the projection after the append.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from app.core.db import insert_ignoring_conflicts
from app.core.errors import NotFound, ValidationProblem
from app.core.ids import ID_MAX
from app.core.metrics import EVENTS_INGESTED
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketEventRow, TicketRow


@dataclass
class Appended:
    """One caller's events split into those the log did not have and those it had (duplicates)."""

    new: list[NormalizedEvent] = field(default_factory=list)
    duplicate: list[NormalizedEvent] = field(default_factory=list)


@dataclass
class AppendResult:
    """Each caller's split, and the tickets (ORM rows, locked on PostgreSQL) that got a new event."""

    groups: list[Appended]
    touched: list[TicketRow]


def append(session: Session, groups: Sequence[Sequence[NormalizedEvent]], now: datetime) -> AppendResult:
    """Log the events that are new (duplicates by (source, key, id) are no-ops) for several callers at once.

    An event that two groups carry is new for the first one only, as if they had run one after the other.
    """
    unique: dict[tuple[str, str, str], NormalizedEvent] = {}
    for events in groups:
        for event in events:
            unique.setdefault(event.dedupe_key(), event)
    tickets = _tickets_for(session, list(unique.values()), now) if unique else {}
    inserted = _insert_events(session, list(unique.values()), tickets, now) if unique else set()
    results, claimed, counts = [], set(), Counter[tuple[str, str]]()
    for events in groups:
        result = Appended()
        for event in events:
            key = event.dedupe_key()
            fresh = key in inserted and key not in claimed
            claimed.add(key)
            (result.new if fresh else result.duplicate).append(event)
            counts[(event.source, "new" if fresh else "duplicate")] += 1
        results.append(result)
    for (source, outcome), count in counts.items():
        EVENTS_INGESTED.labels(source, outcome).inc(count)
    touched = {(s, k) for s, k, _ in inserted}
    return AppendResult(results, sorted((tickets[pair] for pair in touched), key=lambda t: t.id))


def _tickets_for(session: Session, events: list[NormalizedEvent], now: datetime) -> dict[tuple[str, str], TicketRow]:
    """The events' tickets, creating the missing ones. PostgreSQL: the rows are locked until commit, so
    that two transactions appending to one ticket take turns and the second projects after the first."""
    first_at: dict[tuple[str, str], datetime] = {}
    for event in events:
        first_at.setdefault((event.source, event.key), event.at)
    found = _find(session, list(first_at))
    absent = [pair for pair in first_at if pair not in found]
    if absent:
        rows = [
            {
                "source": s,
                "key": k,
                "fields": {},
                "last_event_at": first_at[(s, k)],
                "deleted": False,
                "updated_at": now,
            }
            for s, k in absent
        ]
        # Concurrent first events for one ticket must not fail: the loser simply finds the row.
        session.execute(insert_ignoring_conflicts(session, TicketRow), rows)
        found.update(_find(session, absent))
    return found


def _find(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], TicketRow]:
    by_source: dict[str, list[str]] = {}
    for source, key in keys:
        by_source.setdefault(source, []).append(key)
    found: dict[tuple[str, str], TicketRow] = {}
    # ``source = ? AND key IN (...)`` searches the unique index (a row-value IN list would not on SQLite);
    # sources and ids in order, so that concurrent transactions lock rows in the same order.
    for source, ks in sorted(by_source.items()):
        query = select(TicketRow).where(TicketRow.source == source, TicketRow.key.in_(ks)).order_by(TicketRow.id)
        for row in session.scalars(query.with_for_update()):
            found[(row.source, row.key)] = row
    return found


def _insert_events(
    session: Session, events: list[NormalizedEvent], tickets: dict[tuple[str, str], TicketRow], now: datetime
) -> set[tuple[str, str, str]]:
    """Insert the events the log lacks; the dedupe keys of those this call inserted."""
    rows = [
        {
            "ticket_id": tickets[(e.source, e.key)].id,
            "source": e.source,
            "key": e.key,
            "event_id": e.id,
            "type": e.type.value,
            "at": e.at,
            "body": e.model_dump(mode="json", by_alias=True, exclude_none=True),
            "received_at": now,
        }
        for e in events
    ]
    statement = insert_ignoring_conflicts(session, TicketEventRow).returning(
        TicketEventRow.source, TicketEventRow.key, TicketEventRow.event_id
    )
    return {(s, k, i) for s, k, i in session.execute(statement, rows)}


def request_replay(session: Session, tickets: Sequence[TicketRow], now: datetime) -> None:
    """Queue tickets for the clocks lane's projection, keeping the first request instant (the longest
    waiting go first)."""
    ids = [t.id for t in tickets if t.replay_requested_at is None]
    if ids:
        session.execute(update(TicketRow).where(TicketRow.id.in_(ids)).values(replay_requested_at=now))


def find(session: Session, source: str, key: str) -> TicketRow | None:
    return session.scalar(select(TicketRow).where(TicketRow.source == source, TicketRow.key == key))


def get(session: Session, source: str, key: str) -> TicketRow:
    ticket = find(session, source, key)
    if ticket is None:
        raise NotFound(f"no ticket {source}/{key}")
    return ticket


def list_tickets(
    session: Session, *, failed: bool | None, source: str | None, limit: int, cursor: str | None
) -> tuple[list[TicketRow], str | None]:
    """One page of tickets, newest first, and the cursor of the next page (the last one's id)."""
    query = select(TicketRow)
    if failed is not None:
        set_aside = TicketRow.projection_error.is_not(None)
        query = query.where(set_aside if failed else ~set_aside)
    if source is not None:
        query = query.where(TicketRow.source == source)
    if cursor is not None:
        if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > ID_MAX:
            raise ValidationProblem.single("cursor", "is not a cursor this API returned")
        query = query.where(TicketRow.id < int(cursor))
    rows = list(session.scalars(query.order_by(TicketRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    return rows[:limit], (str(rows[limit - 1].id) if more else None)


def events_of(session: Session, ticket: TicketRow) -> list[TicketEventRow]:
    """The ticket's log in the order things happened."""
    query = select(TicketEventRow).where(TicketEventRow.ticket_id == ticket.id)
    return list(session.scalars(query.order_by(TicketEventRow.at, TicketEventRow.id)))


def logged_events(
    session: Session, ticket_ids: Sequence[int], *, after_row: dict[int, int] | None = None
) -> dict[int, list[tuple[int, NormalizedEvent]]]:
    """The tickets' logged events with their row ids, by ticket: every event, or for the tickets that
    ``after_row`` names only the rows after the given one (one statement either way)."""
    later = after_row or {}
    whole = [tid for tid in ticket_ids if tid not in later]
    wanted: list[ColumnElement[bool]] = [TicketEventRow.ticket_id.in_(whole)] if whole else []
    wanted += [and_(TicketEventRow.ticket_id == tid, TicketEventRow.id > row) for tid, row in later.items()]
    found: dict[int, list[tuple[int, NormalizedEvent]]] = {tid: [] for tid in ticket_ids}
    if not wanted:
        return found
    query = select(TicketEventRow.ticket_id, TicketEventRow.id, TicketEventRow.body).where(or_(*wanted))
    for ticket_id, row_id, body in session.execute(query):
        found[ticket_id].append((row_id, NormalizedEvent.model_validate(body)))
    return found


def events_until(
    session: Session, ticket: TicketRow, until: datetime, *, known_at: datetime | None = None
) -> list[NormalizedEvent]:
    """The ticket's logged events that happened at or before ``until`` (time travel), and of those only
    the ones received by ``known_at`` when given (what the service knew then)."""
    query = select(TicketEventRow.body).where(TicketEventRow.ticket_id == ticket.id, TicketEventRow.at <= until)
    if known_at is not None:
        query = query.where(TicketEventRow.received_at <= known_at)
    return [NormalizedEvent.model_validate(body) for body in session.scalars(query)]
