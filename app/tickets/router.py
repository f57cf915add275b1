"""``/api/v1/tickets``: the tickets, and those set aside after a failed projection; a ticket's event log.

Appending events is ``app.ingestion.router``; a ticket's SLA status is ``app.clocks.router``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.deps import ReadKey
from app.core.deps import SessionDep
from app.core.pagination import MAX_PAGE
from app.tickets import service
from app.tickets.schemas import TicketEventOut, TicketPage, TicketSummaryOut

router = APIRouter(tags=["tickets"])


@router.get("/tickets")
def list_tickets(
    session: SessionDep,
    _: ReadKey,
    failed: Annotated[bool | None, Query(description="Only tickets set aside after a failed projection.")] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> TicketPage:
    """Tickets, newest first, one page at a time. `?failed=true` lists the ones whose
    projection failed, with the error: fix the cause, then `POST .../replay` each of them."""
    rows, next_cursor = service.list_tickets(session, failed=failed, source=source, limit=limit, cursor=cursor)
    return TicketPage(items=[TicketSummaryOut.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/tickets/{source}/{key}/events")
def get_ticket_events(source: str, key: str, session: SessionDep, _: ReadKey) -> list[TicketEventOut]:
    """The ticket's event log in the order things happened."""
    ticket = service.get(session, source, key)
    return [TicketEventOut.from_row(row) for row in service.events_of(session, ticket)]
