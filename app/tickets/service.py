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

from sqlalchemy import select, tuple_
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


def _ensure_tickets(session: Session, events: Sequence[NormalizedEvent], now: datetime) -> dict[tuple[str, str], int]:
    keys = {(e.source, e.key): e.at for e in events}
    found = _ticket_ids(session, list(keys))
    absent = [pair for pair in keys if pair not in found]
    if absent:
        rows = [
            {"source": s, "key": k, "fields": {}, "last_event_at": keys[(s, k)], "deleted": False, "updated_at": now}
            for s, k in absent
        ]
        # Concurrent first events for one ticket must not fail: the loser simply finds the row.
        session.execute(insert_ignoring_conflicts(session, TicketRow), rows)
        found.update(_ticket_ids(session, absent))
    return found


def _ticket_ids(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if len(keys) == 1:  # the common case, as one cached statement
        ((source, key),) = keys
        query = select(TicketRow.source, TicketRow.key, TicketRow.id).where(
            TicketRow.source == source, TicketRow.key == key
        )
    else:
        query = select(TicketRow.source, TicketRow.key, TicketRow.id).where(
            tuple_(TicketRow.source, TicketRow.key).in_(keys)
        )
    return {(s, k): i for s, k, i in session.execute(query)}


def append(session: Session, events: Sequence[NormalizedEvent], now: datetime) -> IngestResult:
    """Log the events that are new (duplicates by (source, key, id) are no-ops) and say which were which."""
    result = IngestResult()
    unique: dict[tuple[str, str, str], NormalizedEvent] = {}
    for event in events:
        if event.dedupe_key() in unique:
            result.duplicate.append(event)
        else:
            unique[event.dedupe_key()] = event
    if not unique:
        return result
    ticket_ids = _ensure_tickets(session, list(unique.values()), now)
    rows = [
        {
            "ticket_id": ticket_ids[(e.source, e.key)],
            "source": e.source,
            "key": e.key,
            "event_id": e.id,
            "type": e.type.value,
            "at": e.at,
            "body": e.model_dump(mode="json", by_alias=True, exclude_none=True),
            "received_at": now,
        }
        for e in unique.values()
    ]
    statement = insert_ignoring_conflicts(session, TicketEventRow).returning(
        TicketEventRow.source, TicketEventRow.key, TicketEventRow.event_id
    )
    inserted = {tuple(r) for r in session.execute(statement, rows)}
    for key, event in unique.items():
        (result.new if key in inserted else result.duplicate).append(event)
    for event in result.new:
        EVENTS_INGESTED.labels(event.source, "new").inc()
    for event in result.duplicate:
        EVENTS_INGESTED.labels(event.source, "duplicate").inc()
    return result


def ingest(
    session: Session, events: Sequence[NormalizedEvent], now: datetime, ctx: Context | None = None
) -> IngestResult:
    """Append events and re-project every ticket that got a new one, in the caller's transaction."""
    result = append(session, events, now)
    touched = sorted({(e.source, e.key) for e in result.new})
    if not touched:
        return result
    ctx = ctx or Context.load(session)
    tickets = list(session.scalars(select(TicketRow).where(tuple_(TicketRow.source, TicketRow.key).in_(touched))))
    result.projections = projection.project_many(session, tickets, now, ctx)
    return result


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
