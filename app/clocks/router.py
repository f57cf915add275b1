"""``/api/v1/clocks`` and ``/api/v1/sla``: the questions escalation bots ask."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.auth.deps import ReadKey
from app.calendars.service import load_set
from app.clocks import service, ticket_status
from app.clocks.service import ClockFilter
from app.core.deps import NowDep, SessionDep
from app.core.durations import parse_duration
from app.core.errors import ValidationProblem
from app.core.instants import AwareInstant
from app.core.pagination import MAX_PAGE
from app.tickets import service as ticket_service
from app.tickets.schemas import CyclePage, TicketStatusOut

router = APIRouter(tags=["clocks"])
tickets_router = APIRouter(tags=["tickets"])

Many = Annotated[list[str] | None, Query()]


class ClockPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


@router.get("/clocks")
def list_clocks(
    session: SessionDep,
    now: NowDep,
    _: ReadKey,
    state: Many = None,
    breached: bool | None = None,
    metric: Many = None,
    tier: Many = None,
    priority: Many = None,
    assignee: Many = None,
    source: Many = None,
    due_before: AwareInstant | None = None,
    due_after: AwareInstant | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> ClockPage:
    """Clocks sorted by `due_at` (soonest first; clocks without one last), filtered, one page at a time.

    Repeat a filter to allow several values (`?state=running&state=paused`). Pass `next_cursor`
    back as `cursor` for the next page.
    """
    filters = ClockFilter(
        state=state,
        breached=breached,
        metric=metric,
        tier=tier,
        priority=priority,
        assignee=assignee,
        source=source,
        due_before=due_before,
        due_after=due_after,
    )
    rows, next_cursor = service.list_clocks(session, filters, now, limit=limit, cursor=cursor)
    calendars = load_set(session)
    return ClockPage(items=[service.view(r, calendars, now) for r in rows], next_cursor=next_cursor)


@router.get("/sla/at-risk")
def at_risk(
    session: SessionDep,
    now: NowDep,
    _: ReadKey,
    within: Annotated[str, Query(description="Business-agnostic wall time ahead, e.g. `30m`, `2h`.")] = "30m",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> list[dict[str, Any]]:
    """Running clocks that breach within `within` from now, soonest first."""
    try:
        window = timedelta(seconds=parse_duration(within))
    except ValueError as exc:
        raise ValidationProblem.single("within", str(exc)) from None
    calendars = load_set(session)
    return [service.view(r, calendars, now) for r in service.at_risk(session, now, window, limit)]


@router.get("/sla/breached")
def breached(
    session: SessionDep,
    now: NowDep,
    _: ReadKey,
    since: Annotated[AwareInstant | None, Query(description="Only breaches at or after this instant.")] = None,
    until: Annotated[AwareInstant | None, Query(description="Only breaches before this instant.")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> ClockPage:
    """Breached clocks, open or stopped, newest breach (`breached_at`) first, one page at a time.

    Cancelled and superseded clocks are left out: they are no verdict. Pass `next_cursor` back as
    `cursor` (with the same `since` and `until`) for the next page.
    """
    if since is not None and until is not None and until <= since:
        raise ValidationProblem.single("until", "must be after since")
    rows, next_cursor = service.breached(session, now, since=since, until=until, limit=limit, cursor=cursor)
    calendars = load_set(session)
    return ClockPage(items=[service.view(r, calendars, now) for r in rows], next_cursor=next_cursor)


@tickets_router.get("/tickets/{source}/{key}")
def get_ticket(
    source: str,
    key: str,
    session: SessionDep,
    now: NowDep,
    _: ReadKey,
    at: Annotated[AwareInstant | None, Query(description="Evaluate as of this instant (ISO 8601 with offset).")] = None,
    known_at: Annotated[
        AwareInstant | None,
        Query(description="Use only the events received by this instant (default: every event received so far)."),
    ] = None,
) -> TicketStatusOut:
    """The ticket's snapshot and every clock with its timeline, now or as of `at`.

    Without `at`: the clocks as last projected, running ones brought up to now. A ticket still waiting
    for the clocks lane (an inbound webhook's events, a calendar edit) is replayed from its log for the
    answer, so every stored event counts either way.

    With `at`: only the events that happened at or before that instant are replayed (time travel for
    audits). With `known_at` too: only those the service had received by then, so the answer is what
    it knew at that moment (a late event received afterwards is left out). `known_at` alone means
    `at = known_at`: what the ticket's clocks said then.
    """
    ticket = ticket_service.get(session, source, key)
    if known_at is not None and known_at > now:
        raise ValidationProblem.single("known_at", "lies in the future")
    if at is None and known_at is None:
        return ticket_status.current(session, ticket, now)
    return ticket_status.as_of(session, ticket, at or known_at or now, known_at=known_at)


@tickets_router.get("/tickets/{source}/{key}/cycles")
def get_ticket_cycles(
    source: str,
    key: str,
    session: SessionDep,
    _: ReadKey,
    metric: Annotated[str, Query(max_length=50, description="The metric whose cycles to list.")],
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Only cycles numbered below this.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> CyclePage:
    """Every cycle of one metric of the ticket, newest first, one page at a time, each with its timeline.

    The ticket's status lists each metric's latest cycles; this pages through all of them, as
    last projected (the status has the open ones brought up to now). Pass
    `next_before` back as `before` for the next page.
    """
    ticket = ticket_service.get(session, source, key)
    return ticket_status.cycles(session, ticket, metric, before=before, limit=limit)
