"""``/api/v1/tickets/{source}/{key}/events``: a ticket's event log.

Appending events is ``app.ingestion.router``; a ticket's SLA status is ``app.clocks.router``.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.auth.deps import ReadKey
from app.core.deps import SessionDep
from app.tickets import service
from app.tickets.schemas import TicketEventOut

router = APIRouter(tags=["tickets"])


@router.get("/tickets/{source}/{key}/events")
def get_ticket_events(source: str, key: str, session: SessionDep, _: ReadKey) -> list[TicketEventOut]:
    """The ticket's event log in the order things happened."""
    ticket = service.get(session, source, key)
    return [TicketEventOut.from_row(row) for row in service.events_of(session, ticket)]
