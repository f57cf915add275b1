"""Declaring exclusion windows and exemptions, and handing them to the clock engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.clocks.models import OPEN_STATES, ClockRow
from app.clocks.state import ExclusionWindow
from app.core.errors import Conflict, NotFound, ValidationProblem
from app.exclusions.models import ExclusionRow, ExemptionRow
from app.tickets.models import TicketRow


def window_of(row: ExclusionRow) -> ExclusionWindow:
    return ExclusionWindow(start=row.start, end=row.end, reason=row.reason, match=row.match or None)


def active_windows(session: Session) -> list[ExclusionWindow]:
    """Every window not revoked (the engine applies each only to the tickets it matches)."""
    rows = session.scalars(select(ExclusionRow).where(ExclusionRow.revoked_at.is_(None)).order_by(ExclusionRow.start))
    return [window_of(row) for row in rows]


def list_windows(session: Session) -> list[ExclusionRow]:
    return list(session.scalars(select(ExclusionRow).order_by(ExclusionRow.start.desc())))


def create_window(
    session: Session, *, start: datetime, end: datetime, reason: str, match: dict[str, Any], actor: str, now: datetime
) -> ExclusionRow:
    """Declare a window and queue the open tickets for replay so their clocks pause in it."""
    try:
        ExclusionWindow(start=start, end=end, reason=reason, match=match or None)
    except ValueError as exc:
        field = "end" if "end" in str(exc) else "match"
        raise ValidationProblem.single(field, str(exc).splitlines()[-1]) from None
    row = ExclusionRow(start=start, end=end, reason=reason, match=match, created_by=actor, created_at=now)
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="exclusion.create",
        subject_type="exclusion",
        subject_id=str(row.id),
        detail={"start": start.isoformat(), "end": end.isoformat(), "reason": reason, "match": match},
    )
    request_replay_of_open_tickets(session, now)
    return row


def revoke_window(session: Session, window_id: int, *, actor: str, now: datetime) -> ExclusionRow:
    row = session.get(ExclusionRow, window_id)
    if row is None or row.revoked_at is not None:
        raise NotFound(f"no active exclusion window #{window_id}")
    row.revoked_at = now
    audit.record(
        session, at=now, actor=actor, action="exclusion.revoke", subject_type="exclusion", subject_id=str(row.id)
    )
    request_replay_of_open_tickets(session, now)
    return row


def request_replay_of_open_tickets(session: Session, now: datetime) -> None:
    """Queue every ticket with an open clock for the clocks lane's projection."""
    open_ids = select(ClockRow.ticket_id).where(ClockRow.state.in_(OPEN_STATES))
    session.execute(update(TicketRow).where(TicketRow.id.in_(open_ids)).values(replay_requested_at=now))


def exemptions_for(session: Session, ticket_id: int) -> dict[tuple[str, int], str]:
    """(metric, cycle) → reason for the ticket's exempted clocks."""
    rows = session.scalars(select(ExemptionRow).where(ExemptionRow.ticket_id == ticket_id))
    return {(row.metric, row.cycle): row.reason for row in rows}


def list_exemptions(session: Session, ticket_id: int | None = None) -> list[ExemptionRow]:
    query = select(ExemptionRow).order_by(ExemptionRow.id)
    if ticket_id is not None:
        query = query.where(ExemptionRow.ticket_id == ticket_id)
    return list(session.scalars(query))


def exempt(
    session: Session, ticket: TicketRow, *, metric: str, cycle: int, reason: str, actor: str, now: datetime
) -> ExemptionRow:
    """Excuse one clock (a breach that does not count); audited."""
    existing = session.scalar(
        select(ExemptionRow).where(
            ExemptionRow.ticket_id == ticket.id, ExemptionRow.metric == metric, ExemptionRow.cycle == cycle
        )
    )
    if existing is not None:
        raise Conflict(f"{metric} cycle {cycle} of {ticket.source}/{ticket.key} is already exempt")
    row = ExemptionRow(ticket_id=ticket.id, metric=metric, cycle=cycle, reason=reason, author=actor, created_at=now)
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="exemption.create",
        subject_type="ticket",
        subject_id=f"{ticket.source}/{ticket.key}",
        detail={"metric": metric, "cycle": cycle, "reason": reason},
    )
    return row
