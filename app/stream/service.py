"""Reading the outbox for the live stream, and the Server-Sent Events wire format."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.webhooks.models import OutboxEventRow
from app.webhooks.outbox import event_document

HEARTBEAT = ": ping\n\n"


def latest_id(session: Session) -> int:
    """The newest outbox event id (0 when there is none): a fresh stream starts after it."""
    return int(session.scalar(select(func.max(OutboxEventRow.id))) or 0)


def events_after(session: Session, after: int, limit: int, types: list[str] | None = None) -> list[OutboxEventRow]:
    """Up to ``limit`` outbox events with an id above ``after``, oldest first."""
    query = select(OutboxEventRow).where(OutboxEventRow.id > after)
    if types:
        query = query.where(OutboxEventRow.type.in_(types))
    return list(session.scalars(query.order_by(OutboxEventRow.id).limit(limit)))


def sse_message(row: OutboxEventRow) -> str:
    """One event as an SSE message: ``id`` the outbox id, ``event`` the type, ``data`` the JSON body."""
    data = json.dumps(event_document(row), separators=(",", ":"), default=str)
    return f"id: {row.id}\nevent: {row.type}\ndata: {data}\n\n"
