"""The one path every event takes: append to the log, project the tickets' clocks, react to the changes.

Every entry point calls these functions in the caller's transaction: the events API and the inbound
webhooks (through ``app.ingestion.writer``), both syncs (``app.ingestion.sync``), the clocks lane's
projection queue and escalation scanner, repair, and the CLI. The order is written here once:

1. ``append``: the new events go into the log (``app.tickets.service``); duplicates change nothing.
2. ``project``: the tickets that got an event are re-derived (``app.clocks.projection``), resuming
   each one's stored fold; a ``deferred`` caller (an inbound webhook) only queues its tickets for
   the clocks lane, so the webhook is answered at once.
3. ``react``: transition events, escalation levels and write-back tasks (``app.escalations.reactions``),
   written to the outbox in the same transaction as the clocks that caused them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.clocks import projection
from app.clocks.context import Context
from app.clocks.models import ClockRow
from app.clocks.projection import Projection
from app.escalations import reactions
from app.tickets import failures
from app.tickets import service as ticket_service
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketRow


@dataclass
class IngestResult:
    """What became of one caller's events, and the projections of its tickets (none when deferred)."""

    new: list[NormalizedEvent] = field(default_factory=list)
    duplicate: list[NormalizedEvent] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)


def ingest(
    session: Session,
    groups: Sequence[Sequence[NormalizedEvent]],
    now: datetime,
    *,
    deferred: Sequence[bool] | None = None,
) -> list[IngestResult]:
    """Append each caller's events, then project and react for the tickets they touched, once each.

    A group marked in ``deferred`` only appends: its tickets are queued for the clocks lane (unless
    another group's events get them projected here anyway).
    """
    appended = ticket_service.append(session, groups, now)
    later = list(deferred or [False] * len(groups))
    now_keys = {(e.source, e.key) for g, d in zip(appended.groups, later, strict=True) if not d for e in g.new}
    at_once = [t for t in appended.touched if (t.source, t.key) in now_keys]
    ticket_service.request_replay(session, [t for t in appended.touched if (t.source, t.key) not in now_keys], now)
    done = reproject(session, at_once, now)
    by_key = {(p.ticket.source, p.ticket.key): p for p in done}
    results = []
    for group, d in zip(appended.groups, later, strict=True):
        keys = dict.fromkeys((e.source, e.key) for e in group.new)
        projections = [] if d else [by_key[k] for k in keys if k in by_key]
        results.append(IngestResult(group.new, group.duplicate, projections))
    return results


def reproject(session: Session, tickets: Sequence[TicketRow], now: datetime, *, full: bool = False) -> list[Projection]:
    """Project ``tickets`` (resuming their stored folds; ``full``: from their whole logs) and react.

    The batch is one savepoint. Should it fail, each ticket is projected in a savepoint of its own and
    the ones that fail again are set aside (``app.tickets.failures``): one ticket the engine or the
    database cannot take never holds up the others. Errors of the database itself (a lost
    connection, a lock timeout) are not the ticket's fault: they fail the caller's transaction.
    """
    if not tickets:
        return []
    ctx = Context.load(session)
    try:
        return _project_and_react(session, tickets, now, ctx, full=full)
    except OperationalError:
        raise
    except Exception as error:
        if len(tickets) == 1:
            failures.set_aside(session, tickets[0], error, now)
            return []
    done: list[Projection] = []
    for ticket in tickets:
        try:
            done += _project_and_react(session, [ticket], now, ctx, full=full)
        except OperationalError:
            raise
        except Exception as error:
            failures.set_aside(session, ticket, error, now)
    return done


def _project_and_react(
    session: Session, tickets: Sequence[TicketRow], now: datetime, ctx: Context, *, full: bool
) -> list[Projection]:
    with session.begin_nested():
        projections = projection.project(session, tickets, now, ctx, full=full)
        reactions.react(session, [p for p in projections if p.policy is not None], now)
    return projections


def repair(session: Session, ticket: TicketRow, now: datetime) -> Projection | None:
    """Re-derive one ticket from its whole log (the replay route and CLI); None when it failed, and
    the ticket was set aside with the error."""
    done = reproject(session, [ticket], now, full=True)
    return done[0] if done else None


def project_queued(session: Session, now: datetime, limit: int) -> int:
    """The clocks lane's queue: project tickets queued by deferred ingestion, exclusion windows, calendar
    edits or policy migrations, longest waiting first (several workers share it on PostgreSQL)."""
    query = (
        select(TicketRow)
        .where(TicketRow.replay_requested_at.is_not(None), _not_set_aside(now))
        .order_by(TicketRow.replay_requested_at, TicketRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return len(reproject(session, list(session.scalars(query)), now))


def project_due(session: Session, now: datetime, limit: int, *, skip_locked: bool) -> int:
    """The escalation scanner: project tickets with a clock whose ``next_action_at`` has come; the
    reactions fire the levels that are due."""
    due = select(ClockRow.ticket_id).where(ClockRow.next_action_at <= now)
    query = select(TicketRow).where(TicketRow.id.in_(due), _not_set_aside(now)).order_by(TicketRow.id).limit(limit)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    return len(reproject(session, list(session.scalars(query)), now))


def _not_set_aside(now: datetime) -> ColumnElement[bool]:
    """Tickets not waiting out the delay after a failed projection."""
    return or_(TicketRow.projection_retry_at.is_(None), TicketRow.projection_retry_at <= now)
