"""``/api/v1/events`` and ``/api/v1/tickets``: ingest normalized events, read a ticket's SLA status."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from app.auth.deps import BEARER_SECURITY, ReadKey, WriteKey, ingest_principal
from app.core.deps import NowDep, SessionDep
from app.core.errors import FieldError, UnsupportedMediaType, ValidationProblem
from app.core.instants import AwareInstant
from app.core.problems import errors_from_pydantic
from app.tickets import service, status
from app.tickets.events import NormalizedEvent
from app.tickets.schemas import EVENTS_BODY_DOC, IngestOut, TicketEventOut, TicketStatusOut
from app.tickets.writer import app_writer

router = APIRouter(tags=["tickets"])
# The busiest route on a router of its own, which the app matches before any other (app.main).
events_router = APIRouter(tags=["tickets"])
MAX_BATCH = 1000


def parse_events(body: Any) -> list[NormalizedEvent]:
    """Validate one event or a list of them; every problem is reported, nothing is half-accepted."""
    single = isinstance(body, dict)
    items = [body] if single else body
    if not isinstance(items, list):
        raise ValidationProblem.single("body", "must be an event object or a list of events")
    if not items:
        raise ValidationProblem.single("body", "the list of events is empty")
    if len(items) > MAX_BATCH:
        raise ValidationProblem.single("body", f"at most {MAX_BATCH} events per request, got {len(items)}")
    events, errors = [], []
    for index, item in enumerate(items):
        prefix = "" if single else f"[{index}]"
        try:
            events.append(NormalizedEvent.model_validate(item))
        except ValidationError as exc:
            errors += errors_from_pydantic(exc.errors(), prefix)
    if errors:
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
        raise ValidationProblem(f"{len(errors)} problem(s), nothing stored: {detail}", errors)
    return events


async def json_body(request: Request) -> Any:
    """The request's JSON document. Read here rather than declared as a body parameter: FastAPI's body
    handling costs the busiest route a tenth of its time on the event loop, and the errors name the field."""
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        reason = f"must be application/json (got {content_type or 'none'})"
        raise UnsupportedMediaType(f"Content-Type {reason}", [FieldError("Content-Type", reason)])
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationProblem.single("body", f"not valid JSON: {exc}") from exc


# The request body is documented by hand (EVENTS_BODY_DOC): one event or a list of them; so is the key
# check, which the route calls itself (``ingest_principal``).
@events_router.post("/events", openapi_extra={**EVENTS_BODY_DOC, "security": BEARER_SECURITY})
async def post_events(request: Request) -> IngestOut:
    """Append normalized events (one object or a list of up to 1,000) to the log and update the clocks.

    The batch is validated whole before anything is written; duplicates (same source, key and id)
    are accepted and change nothing. Events for a ticket whose `created` event has not arrived yet
    are held: logged, and counted once `created` arrives.
    """
    await ingest_principal(request)
    events = parse_events(await json_body(request))
    result = await app_writer(request).submit(events)
    return IngestOut.from_result(result)


@router.get("/tickets/{source}/{key}")
def get_ticket(
    source: str,
    key: str,
    session: SessionDep,
    now: NowDep,
    _: ReadKey,
    at: Annotated[AwareInstant | None, Query(description="Evaluate as of this instant (ISO 8601 with offset).")] = None,
) -> TicketStatusOut:
    """The ticket's snapshot and every clock with its timeline, now or as of `at`.

    Events posted to `/api/v1/events` are projected before that request answers; those from inbound webhooks are
    projected by the worker right after they are stored, so for a moment the clocks may not show them yet.

    With `at`, only the events that happened at or before that instant are replayed (time travel
    for audits); without it, all events and the current time.
    """
    ticket = service.get(session, source, key)
    return status.ticket_status(session, ticket, at or now)


@router.get("/tickets/{source}/{key}/events")
def get_ticket_events(source: str, key: str, session: SessionDep, _: ReadKey) -> list[TicketEventOut]:
    """The ticket's event log in the order things happened."""
    ticket = service.get(session, source, key)
    return [TicketEventOut.from_row(row) for row in service.events_of(session, ticket)]


@router.post("/tickets/{source}/{key}/replay")
def replay_ticket(source: str, key: str, session: SessionDep, now: NowDep, _: WriteKey) -> TicketStatusOut:
    """Re-derive the ticket's snapshot and clocks from its event log (repair)."""
    ticket = service.get(session, source, key)
    service.replay(session, ticket, now)
    return status.ticket_status(session, ticket, now)
