"""Worker jobs that keep the projection current without new events."""

from __future__ import annotations

from sqlalchemy import select

from app.clocks import projection
from app.clocks.models import ClockRow
from app.core.clock import Now
from app.core.db import Database
from app.tickets import service as ticket_service
from app.tickets.models import TicketRow
from app.worker.runner import register

BATCH = 200


@register("replay-requested")
def replay_requested(db: Database, now: Now) -> int:
    """Replay tickets queued by exclusion windows, calendar edits and policy migrations."""
    with db.transaction() as session:
        return ticket_service.replay_requested(session, now(), limit=BATCH)


@register("refresh-due")
def refresh_due(db: Database, now: Now) -> int:
    """Re-evaluate tickets whose clocks reached a stored instant (warning, target, limit, window edge)."""
    with db.transaction() as session:
        instant = now()
        ticket_ids = select(ClockRow.ticket_id).where(ClockRow.next_action_at <= instant).distinct().limit(BATCH)
        tickets = list(session.scalars(select(TicketRow).where(TicketRow.id.in_(ticket_ids))))
        return projection.project_many(session, tickets, instant)
