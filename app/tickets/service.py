"""Ingesting normalized events: append to the log (idempotently), then re-project touched tickets.

A batch is all or nothing: the caller validated every event before this runs,
and the whole batch shares the request's single transaction.

Events for a ticket whose ``created`` event has not arrived yet are accepted and
held: they are logged, the ticket exists with what they say, and its clocks start
once ``created`` arrives (sync and webhooks may deliver out of order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from app.clocks import projection
from app.clocks.context import Context
from app.clocks.projection import Projection
from app.core import bulk
from app.core.errors import NotFound
from app.core.metrics import EVENTS_INGESTED
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketEventRow, TicketRecord, TicketRow


@dataclass
class IngestResult:
    new: list[NormalizedEvent] = field(default_factory=list)
    duplicate: list[NormalizedEvent] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)


_TICKET_COLUMNS = tuple(TicketRow.__table__.c.keys())
# Built once (statement construction and cache-key generation cost more than running them).
_QUEUE_REPLAY = (
    update(TicketRow)
    .where(TicketRow.id.in_(bindparam("ids", expanding=True)), TicketRow.replay_requested_at.is_(None))
    .values(replay_requested_at=bindparam("now"))
)


def _ticket_ids(
    session: Session, events: Sequence[NormalizedEvent], now: datetime
) -> tuple[dict[tuple[str, str], int], set[int]]:
    """The ids of the events' tickets, creating the missing ones (no ORM rows needed here), and which of
    them this call created."""
    keys = {(e.source, e.key): e.at for e in events}
    found = _find_ids(session, list(keys))
    absent = [pair for pair in keys if pair not in found]
    if not absent:
        return found, set()
    rows = [
        {"source": s, "key": k, "fields": {}, "last_event_at": keys[(s, k)], "deleted": False, "updated_at": now}
        for s, k in absent
    ]
    created = {
        (s, k): i for s, k, i in bulk.insert(session, TicketRow, rows, ("source", "key", "id"), ignore_conflicts=True)
    }
    found.update(created)
    # Concurrent first events for one ticket must not fail: the loser simply finds the row.
    raced = [pair for pair in absent if pair not in found]
    if raced:
        found.update(_find_ids(session, raced))
    return found, set(created.values())


def _find_ids(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    by_source: dict[str, list[str]] = {}
    for source, key in keys:
        by_source.setdefault(source, []).append(key)
    # Not a row-value IN list: SQLite answers one with a full table scan, which made every batch cost
    # O(tickets); ``source = ? AND key IN (...)`` searches the unique index. PostgreSQL: the rows are
    # locked (source by source, in id order) until commit, so that two transactions projecting one
    # ticket take turns and the second one reads the first one's events.
    return {
        (source, key): id_
        for source, ks in sorted(by_source.items())
        for key, id_ in bulk.select_in(
            session, TicketRow, ("key", "id"), ("source", "key"), [source], ks, order_by=("id",), lock=True
        )
    }


def append(session: Session, events: Sequence[NormalizedEvent], now: datetime) -> IngestResult:
    """Log the events that are new (duplicates by (source, key, id) are no-ops) and say which were which."""
    return _append(session, [events], now)[0][0]


def _append(
    session: Session, groups: Sequence[Sequence[NormalizedEvent]], now: datetime
) -> tuple[list[IngestResult], dict[tuple[str, str], int], set[int]]:
    """:func:`append` for several callers' batches at once, one statement per table for all of them;
    also returns the ids of the tickets it found or created, and which it created.

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
    ids, created = _ticket_ids(session, list(unique.values()), now) if unique else ({}, set())
    inserted = _insert_events(session, list(unique.values()), ids, now) if unique else set()
    counts: Counter[tuple[str, str]] = Counter()
    for result, events, owned in zip(results, groups, owner, strict=True):
        for event, first in zip(events, owned, strict=True):
            fresh = first is not None and first in inserted
            (result.new if fresh else result.duplicate).append(event)
            counts[(event.source, "new" if fresh else "duplicate")] += 1
    for (source, outcome), count in counts.items():
        EVENTS_INGESTED.labels(source, outcome).inc(count)
    return results, ids, created


def _insert_events(
    session: Session, events: list[NormalizedEvent], ids: dict[tuple[str, str], int], now: datetime
) -> set[tuple[str, str, str]]:
    rows = [
        {
            "ticket_id": ids[(e.source, e.key)],
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
    return {
        (s, k, i)
        for s, k, i in bulk.insert(session, TicketEventRow, rows, ("source", "key", "event_id"), ignore_conflicts=True)
    }


def ingest(
    session: Session, events: Sequence[NormalizedEvent], now: datetime, ctx: Context | None = None
) -> IngestResult:
    """Append events and re-project every ticket that got a new one, in the caller's transaction."""
    return ingest_groups(session, [events], now, ctx)[0]


def ingest_groups(
    session: Session,
    groups: Sequence[Sequence[NormalizedEvent]],
    now: datetime,
    ctx: Context | None = None,
    *,
    deferred: Sequence[bool] | None = None,
) -> list[IngestResult]:
    """:func:`ingest` for several callers' batches in one transaction (group commit, see ``writer``).

    Every touched ticket is projected once, however many groups touched it. A group marked in
    ``deferred`` only logs its events: its tickets are queued for the worker's ``replay-requested``
    job (unless another group's events get them projected here anyway), and its result has no
    projections.
    """
    results, ids, created = _append(session, groups, now)
    later = deferred or [False] * len(groups)
    touched = {ids[(e.source, e.key)] for r, d in zip(results, later, strict=True) if not d for e in r.new}
    queued = {ids[(e.source, e.key)] for r, d in zip(results, later, strict=True) if d for e in r.new} - touched
    if queued:
        # Keep the first request instant: the worker takes the longest waiting first.
        session.connection().execute(_QUEUE_REPLAY, {"ids": sorted(queued), "now": now})
    if not touched:
        return results
    ctx = ctx or Context.load(session)
    tickets = ticket_records(session, sorted(touched))
    # A ticket created here has no log but these events: no need to read them back.
    fresh = created & touched
    logged: dict[int, list[NormalizedEvent]] = {}
    for result in results:
        for event in result.new:
            if (ticket_id := ids[(event.source, event.key)]) in fresh:
                logged.setdefault(ticket_id, []).append(event)
    done = projection.project_many(session, tickets, now, ctx, logged=logged)
    projections = {(p.ticket.source, p.ticket.key): p for p in done}
    for result, d in zip(results, later, strict=True):
        keys = dict.fromkeys((e.source, e.key) for e in result.new)
        result.projections = [] if d else [projections[key] for key in keys if key in projections]
    return results


def ticket_records(session: Session, ids: Sequence[int]) -> list[TicketRecord]:
    """The tickets with these ids, in id order, read without the ORM."""
    rows = bulk.select_in(session, TicketRow, _TICKET_COLUMNS, ("id",), (), ids, order_by=("id",))
    return [TicketRecord(*row) for row in rows]


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
    """Worker job body: replay tickets queued by deferred ingestion, exclusions, calendar edits or
    migrations, longest waiting first (several workers share the queue on PostgreSQL)."""
    query = (
        select(TicketRow)
        .where(TicketRow.replay_requested_at.is_not(None))
        .order_by(TicketRow.replay_requested_at, TicketRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return len(projection.project_many(session, list(session.scalars(query)), now))
