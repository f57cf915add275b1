"""``POST /api/v1/events`` (append normalized events) and ``POST /api/v1/tickets/{source}/{key}/replay`` (repair)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request

from app.auth.deps import WriteKey, ingest_principal
from app.clocks import ticket_status
from app.core.deps import NowDep, SessionDep
from app.core.errors import Conflict, FieldError, UnsupportedMediaType
from app.core.problems import PROBLEM_JSON
from app.ingestion import flow
from app.ingestion.writer import app_writer
from app.tickets import service as ticket_service
from app.tickets.schemas import EventBatch, IngestOut, TicketStatusOut

router = APIRouter(tags=["tickets"])

EXAMPLE = {
    "source": "api",
    "key": "T-1",
    "id": "e1",
    "type": "created",
    "at": "2025-01-06T09:00:00Z",
    "ticket": {"priority": "P1", "tier": "gold", "status": "Open", "status_category": "open"},
}


def json_content(request: Request) -> None:
    """Refuse a body not sent as JSON with 415 naming ``Content-Type`` (FastAPI would read it as bytes)."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        reason = f"must be application/json (got {content_type or 'none'})"
        raise UnsupportedMediaType(f"Content-Type {reason}", [FieldError("Content-Type", reason)])


@router.post(
    "/events",
    # The key is checked before the content type. (FastAPI decodes a JSON body before any dependency,
    # so malformed JSON still answers 422 to a caller without a key.)
    dependencies=[Depends(ingest_principal), Depends(json_content)],
    responses={
        415: {
            "description": "The body was not sent as `application/json`; nothing stored",
            "content": {PROBLEM_JSON: {}},
        },
        422: {
            "description": "Not JSON, or an event is invalid (`errors[]` names each field); nothing stored",
            "content": {PROBLEM_JSON: {}},
        },
    },
)
async def post_events(
    events: Annotated[EventBatch, Body(openapi_examples={"created": {"value": EXAMPLE}})],
    request: Request,
) -> IngestOut:
    """Append normalized events (one object or a list of up to 1,000) to the log and update the clocks.

    The batch is validated whole before anything is written; duplicates (same source, key and id)
    are accepted and change nothing. Events for a ticket whose `created` event has not arrived yet
    are held: logged, and counted once `created` arrives.
    """
    result = await app_writer(request).submit(events)
    return IngestOut.from_result(result)


@router.post(
    "/tickets/{source}/{key}/replay",
    responses={409: {"description": "The projection failed again; nothing changed", "content": {PROBLEM_JSON: {}}}},
)
def replay_ticket(source: str, key: str, session: SessionDep, now: NowDep, _: WriteKey) -> TicketStatusOut:
    """Re-derive the ticket's snapshot and clocks from its whole event log (repair).

    A ticket set aside after a failed projection is cleared once this works; when it fails again,
    the answer is a 409 problem with the error and nothing changes.
    """
    ticket = ticket_service.get(session, source, key)
    if flow.repair(session, ticket, now) is None:
        raise Conflict(f"the ticket's projection failed: {ticket.projection_error}")
    return ticket_status.current(session, ticket, now)
