"""The clock projection: replay one ticket's event log through the pure engine and store the result.

Every event, late or not, re-derives the ticket's clocks from its whole log
(DESIGN §1 principle 1): the stored rows are always exactly what ``evaluate``
says, whatever order events arrived in. See docs/adr/0001-replay-on-every-event.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clocks.context import Context
from app.clocks.evaluate import evaluate
from app.clocks.models import ClockRow
from app.clocks.replay import apply_event, ordered_events
from app.clocks.state import ClockState, ExclusionWindow
from app.exclusions import service as exclusion_service
from app.policies import service as policy_service
from app.policies.matching import select_policy, ticket_matches
from app.policies.service import PublishedPolicy
from app.tickets.events import EventType, NormalizedEvent, TicketSnapshot
from app.tickets.models import TicketEventRow, TicketRow

OPEN_STATES = ("running", "paused")


@dataclass
class ClockChange:
    """A stored clock before and after one projection (``before`` is None for a new clock)."""

    row: ClockRow
    before: dict[str, object] | None
    after: ClockState


@dataclass
class Projection:
    ticket: TicketRow
    policy: PublishedPolicy | None
    # The configuration it ran with (listeners reuse it instead of loading it again).
    ctx: Context
    clocks: list[ClockState] = field(default_factory=list)
    changes: list[ClockChange] = field(default_factory=list)


# Called at the end of every projection, in its transaction, with (session, projection, now):
# escalations and outbound events hang off this without the projection knowing them.
ProjectionListener = Callable[[Session, "Projection", datetime], None]
LISTENERS: list[ProjectionListener] = []


def ticket_events(session: Session, ticket: TicketRow, *, until: datetime | None = None) -> list[NormalizedEvent]:
    """The ticket's logged events (those that happened at or before ``until`` when given)."""
    query = select(TicketEventRow.body).where(TicketEventRow.ticket_id == ticket.id)
    if until is not None:
        query = query.where(TicketEventRow.at <= until)
    return [NormalizedEvent.model_validate(body) for body in session.scalars(query)]


def replay_snapshot(events: Sequence[NormalizedEvent]) -> TicketSnapshot:
    """The ticket as its events leave it."""
    snapshot = TicketSnapshot()
    for event in ordered_events(events):
        snapshot = apply_event(snapshot, event)
    return snapshot


def choose_policy(
    session: Session, ticket: TicketRow, snapshot: TicketSnapshot, ctx: Context
) -> PublishedPolicy | None:
    """The ticket's pinned version while its policy still matches; otherwise the first active match.

    A ticket keeps the version it matched: editing a policy never moves it (only an explicit
    migration does). If the pinned policy stops matching and another matches, the ticket moves
    to that one; the old clocks stay, cancelled.
    """
    pinned = policy_service.version_by_id(session, ticket.policy_version_id) if ticket.policy_version_id else None
    if pinned is not None and ticket_matches(pinned.spec.match, snapshot, ticket.source):
        return pinned
    candidate = select_policy([p.spec for p in ctx.policies], snapshot, ticket.source)
    if candidate is None:
        return pinned
    chosen = next(p for p in ctx.policies if p.spec is candidate)
    if pinned is not None and chosen.name == pinned.name:
        return pinned
    return chosen


def evaluate_ticket(
    policy: PublishedPolicy, events: Sequence[NormalizedEvent], ctx: Context, now: datetime
) -> list[ClockState]:
    """The pure engine on one ticket's events."""
    return evaluate(
        policy.spec,
        ctx.calendars.compiled,
        events,
        now,
        exclusions=ctx.exclusions,
        ticket_timezone_calendar=ctx.calendars.zoned,
    )


def derive(
    session: Session,
    ticket: TicketRow,
    policy: PublishedPolicy,
    events: Sequence[NormalizedEvent],
    ctx: Context,
    now: datetime,
) -> list[ClockState]:
    """The ticket's clocks under ``policy`` as of ``now`` (the engine cancels them once the policy
    stops matching), with exemptions marked."""
    if not events:
        return []
    states = evaluate_ticket(policy, events, ctx, now)
    if not ctx.any_exemptions:
        return states
    exempt = exclusion_service.exemptions_for(session, ticket.id)
    return [_with_exemption(s, exempt.get((s.metric, s.cycle))) for s in states]


def project_many(
    session: Session,
    tickets: Sequence[TicketRow],
    now: datetime,
    ctx: Context | None = None,
    *,
    logged: Mapping[int, list[NormalizedEvent]] | None = None,
) -> list[Projection]:
    """Replay several tickets from their logs and store their snapshots and clocks.

    Their events and stored clocks are read with one query each and their rows written with one
    flush, because per-ticket round trips cost more than the replays; the listeners then see
    every row with its id. ``logged`` gives the whole log of tickets created in this transaction
    (they have no stored clocks either), which is then not read back.
    """
    if not tickets:
        return []
    ctx = ctx or Context.load(session)
    known = logged or {}
    ids = [ticket.id for ticket in tickets if ticket.id not in known]
    events = {**_events_by_ticket(session, ids), **known} if ids else dict(known)
    clocks = _clocks_by_ticket(session, ids) if ids else {}
    with session.no_autoflush:
        results = [_project(session, t, ctx, now, events.get(t.id, []), clocks.get(t.id, [])) for t in tickets]
    session.flush()
    for result in results:
        if result.policy is not None:
            for listener in LISTENERS:
                listener(session, result, now)
    return results


def project(session: Session, ticket: TicketRow, ctx: Context, now: datetime) -> Projection:
    """Replay ``ticket`` from its log, refresh its snapshot and store its clocks."""
    return project_many(session, [ticket], now, ctx)[0]


def _events_by_ticket(session: Session, ticket_ids: list[int]) -> dict[int, list[NormalizedEvent]]:
    found: dict[int, list[NormalizedEvent]] = {}
    query = select(TicketEventRow.ticket_id, TicketEventRow.body).where(TicketEventRow.ticket_id.in_(ticket_ids))
    for ticket_id, body in session.execute(query):
        found.setdefault(ticket_id, []).append(NormalizedEvent.model_validate(body))
    return found


def _clocks_by_ticket(session: Session, ticket_ids: list[int]) -> dict[int, list[ClockRow]]:
    found: dict[int, list[ClockRow]] = {}
    for row in session.scalars(select(ClockRow).where(ClockRow.ticket_id.in_(ticket_ids))):
        found.setdefault(row.ticket_id, []).append(row)
    return found


def _project(
    session: Session,
    ticket: TicketRow,
    ctx: Context,
    now: datetime,
    events: list[NormalizedEvent],
    stored: list[ClockRow],
) -> Projection:
    snapshot = replay_snapshot(events)
    _store_snapshot(ticket, snapshot, events, now)
    policy = choose_policy(session, ticket, snapshot, ctx) if ticket.opened_at is not None else None
    result = Projection(ticket, policy, ctx)
    if policy is None:
        return result
    ticket.policy_version_id = policy.version_id
    states = derive(session, ticket, policy, events, ctx, now)
    result.clocks = states
    result.changes = _store_clocks(session, ticket, policy, states, ctx, now, stored)
    return result


def _store_snapshot(
    ticket: TicketRow, snapshot: TicketSnapshot, events: Sequence[NormalizedEvent], now: datetime
) -> None:
    for name in ("title", "status", "priority", "tier", "assignee", "project", "type", "timezone", "url"):
        setattr(ticket, name, getattr(snapshot, name))
    ticket.status_category = snapshot.status_category.value if snapshot.status_category else None
    ticket.fields = dict(snapshot.fields)
    created = [e.at for e in events if e.type is EventType.created]
    ticket.opened_at = min(created) if created else None
    ticket.last_event_at = max((e.at for e in events), default=ticket.last_event_at)
    ticket.deleted = any(e.type is EventType.deleted for e in events)
    ticket.updated_at = now
    ticket.replay_requested_at = None


def _with_exemption(state: ClockState, reason: str | None) -> ClockState:
    return state if reason is None else state.model_copy(update={"exempt": True, "exemption_reason": reason})


def _row_view(row: ClockRow) -> dict[str, object]:
    return {
        "state": row.state,
        "breached": row.breached,
        "met": row.met,
        "due_at": row.due_at,
        "warn_at": row.warn_at,
        "paused_reason": row.paused_reason,
        "cycle": row.cycle,
    }


def next_action_at(state: ClockState, windows: Sequence[ExclusionWindow], now: datetime) -> datetime | None:
    """The next instant at which this clock's stored figures stop being right without a new event."""
    if state.state.value not in OPEN_STATES:
        return None
    candidates = [t for t in (state.warn_at, state.target_at, state.due_at) if t is not None and t > now]
    candidates += [t for w in windows for t in (w.start, w.end) if t > now]
    return min(candidates, default=None)


def _store_clocks(
    session: Session,
    ticket: TicketRow,
    policy: PublishedPolicy,
    states: list[ClockState],
    ctx: Context,
    now: datetime,
    stored: list[ClockRow],
) -> list[ClockChange]:
    existing = {(row.policy_version_id, row.metric, row.cycle): row for row in stored}
    changes: list[ClockChange] = []
    produced = set()
    for state in states:
        key = (policy.version_id, state.metric, state.cycle)
        produced.add(key)
        row = existing.get(key)
        before = _row_view(row) if row is not None else None
        if row is None:
            row = ClockRow(
                ticket_id=ticket.id, policy_version_id=policy.version_id, metric=state.metric, cycle=state.cycle
            )
            session.add(row)
        row.policy_version = policy.version
        # The engine reads clocks as of the newest event when that lies after ``now``.
        as_of = max(now, ticket.last_event_at)
        _fill(row, ticket, state, as_of, next_action_at(state, ctx.exclusions, as_of))
        changes.append(ClockChange(row, before, state))
    for key, row in existing.items():
        if key in produced:
            continue
        if key[0] == policy.version_id:
            # A cycle that a late event showed never happened.
            session.delete(row)
        elif row.state in OPEN_STATES:
            row.state = "cancelled"
            row.due_at = None
            row.next_action_at = None
            row.paused_reason = None
            row.detail = {**row.detail, "state": "cancelled", "cancelled_reason": "moved to another policy version"}
    return changes


def _fill(row: ClockRow, ticket: TicketRow, state: ClockState, now: datetime, next_at: datetime | None) -> None:
    row.policy = state.policy
    row.state = state.state.value
    row.breached = state.breached
    row.met = state.met
    row.exempt = state.exempt
    row.target_seconds = state.target_seconds
    row.limit_seconds = state.limit_seconds
    row.elapsed_seconds = state.elapsed_seconds
    row.due_at = state.due_at
    row.target_at = state.target_at
    row.warn_at = state.warn_at
    row.breached_at = state.breached_at
    row.started_at = state.started_at
    row.stopped_at = state.stopped_at
    row.paused_reason = state.paused_reason
    row.calendar = state.calendar
    row.timezone = state.timezone
    row.source = ticket.source
    row.ticket_key = ticket.key
    row.priority = state.priority
    row.tier = state.tier
    row.assignee = ticket.assignee
    row.next_action_at = next_at
    row.evaluated_at = now
    row.detail = state.as_dict()
