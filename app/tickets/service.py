"""Ingesting normalized events: append to the log (idempotently), then re-project touched tickets.

A batch is all or nothing: the caller validated every event before this runs,
and the whole batch shares the request's single transaction.

Events for a ticket whose ``created`` event has not arrived yet are accepted and
held: they are logged, the ticket exists with what they say, and its clocks start
once ``created`` arrives (sync and webhooks may deliver out of order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.clocks import projection
from app.clocks.context import Context
from app.clocks.projection import Projection
from app.core.db import insert_ignoring_conflicts
from app.core.errors import NotFound
from app.core.metrics import EVENTS_INGESTED
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketEventRow, TicketRow


@dataclass
class IngestResult:
    new: list[NormalizedEvent] = field(default_factory=list)
    duplicate: list[NormalizedEvent] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)


def _ensure_tickets(
    session: Session, events: Sequence[NormalizedEvent], now: datetime
) -> dict[tuple[str, str], TicketRow]:
    keys = {(e.source, e.key): e.at for e in events}
    found = _tickets(session, list(keys))
    absent = [pair for pair in keys if pair not in found]
    if absent:
        rows = [
            {"source": s, "key": k, "fields": {}, "last_event_at": keys[(s, k)], "deleted": False, "updated_at": now}
            for s, k in absent
        ]
        # Concurrent first events for one ticket must not fail: the loser simply finds the row.
        session.execute(insert_ignoring_conflicts(session, TicketRow), rows)
        found.update(_tickets(session, absent))
    return found


def _tickets(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], TicketRow]:
    by_source: dict[str, list[str]] = {}
    for source, key in keys:
        by_source.setdefault(source, []).append(key)
    # Not ``tuple_(source, key).in_(...)``: SQLite answers a row-value IN list with a full table scan,
    # which made every batch cost O(tickets). ``source = ? AND key IN (...)`` searches the unique index.
    query = select(TicketRow).where(
        or_(*(and_(TicketRow.source == source, TicketRow.key.in_(ks)) for source, ks in by_source.items()))
    )
    return {(t.source, t.key): t for t in session.scalars(query)}


def append(session: Session, events: Sequence[NormalizedEvent], now: datetime) -> IngestResult:
    """Log the events that are new (duplicates by (source, key, id) are no-ops) and say which were which."""
    return _append(session, [events], now)[0][0]


def _append(
    session: Session, groups: Sequence[Sequence[NormalizedEvent]], now: datetime
) -> tuple[list[IngestResult], dict[tuple[str, str], TicketRow]]:
    """:func:`append` for several callers' batches at once, one statement per table for all of them;
    also returns the ticket rows it read or created.

    An event that two groups carry is new for the first one only, as if they had run one after the other.
    """
    results = [IngestResult() for _ in groups]
    unique: dict[tuple[str, str, str], NormalizedEvent] = {}
    owner: list[list[tuple[str, str, str] | None]] = []
    for events in groups:
        keys: list[tuple[str, str, str] | None] = []
        for event in events:
            key = event.dedupe_key()
            keys.append(None if key in unique else key)
            unique.setdefault(key, event)
        owner.append(keys)
    tickets = _ensure_tickets(session, list(unique.values()), now) if unique else {}
    inserted = _insert_events(session, list(unique.values()), tickets, now) if unique else set()
    for result, events, owned in zip(results, groups, owner, strict=True):
        for event, first in zip(events, owned, strict=True):
            (result.new if first is not None and first in inserted else result.duplicate).append(event)
        for event in result.new:
            EVENTS_INGESTED.labels(event.source, "new").inc()
        for event in result.duplicate:
            EVENTS_INGESTED.labels(event.source, "duplicate").inc()
    return results, tickets


def _insert_events(
    session: Session, events: list[NormalizedEvent], tickets: dict[tuple[str, str], TicketRow], now: datetime
) -> set[tuple[str, str, str]]:
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


def ingest(
    session: Session, events: Sequence[NormalizedEvent], now: datetime, ctx: Context | None = None
) -> IngestResult:
    """Append events and re-project every ticket that got a new one, in the caller's transaction."""
    return ingest_groups(session, [events], now, ctx)[0]


def ingest_groups(
    session: Session, groups: Sequence[Sequence[NormalizedEvent]], now: datetime, ctx: Context | None = None
) -> list[IngestResult]:
    """:func:`ingest` for several callers' batches in one transaction (group commit, see ``writer``).

    Every touched ticket is projected once, however many groups touched it.
    """
    results, rows = _append(session, groups, now)
    touched = sorted({(e.source, e.key) for result in results for e in result.new})
    if not touched:
        return results
    ctx = ctx or Context.load(session)
    tickets = [rows[key] for key in touched]
    projections = {(p.ticket.source, p.ticket.key): p for p in projection.project_many(session, tickets, now, ctx)}
    for result in results:
        keys = dict.fromkeys((e.source, e.key) for e in result.new)
        result.projections = [projections[key] for key in keys if key in projections]
    return results


def find(session: Session, source: str, key: str) -> TicketRow | None:
    return session.scalar(select(TicketRow).where(TicketRow.source == source, TicketRow.key == key))


def get(session: Session, source: str, key: str) -> TicketRow:
    ticket = find(session, source, key)
    if ticket is None:
        raise NotFound(f"no ticket {source}/{key}")
    return ticket


def events_of(session: Session, ticket: TicketRow) -> list[TicketEventRow]:
    """The ticket's log in the order things happened."""
    query = select(TicketEventRow).where(TicketEventRow.ticket_id == ticket.id)
    return list(session.scalars(query.order_by(TicketEventRow.at, TicketEventRow.id)))


def replay(session: Session, ticket: TicketRow, now: datetime) -> Projection:
    """Re-derive the ticket's snapshot and clocks from its log (repair)."""
    return projection.project(session, ticket, Context.load(session), now)


def replay_requested(session: Session, now: datetime, limit: int = 200) -> int:
    """Worker job body: replay tickets queued by exclusions, calendar edits or migrations."""
    query = select(TicketRow).where(TicketRow.replay_requested_at.is_not(None)).order_by(TicketRow.id).limit(limit)
    return len(projection.project_many(session, list(session.scalars(query)), now))
