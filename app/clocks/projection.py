"""The clock projection: replay one ticket's event log through the pure engine and store the result.

Every event, late or not, re-derives the ticket's clocks from its whole log
(the event log is the truth): the stored rows are always exactly what ``evaluate``
says, whatever order events arrived in. See docs/adr/0001-replay-on-every-event.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clocks import store
from app.clocks.context import Context
from app.clocks.evaluate import evaluate
from app.clocks.replay import apply_event, ordered_events
from app.clocks.state import ClockState, ExclusionWindow
from app.clocks.store import ClockRecord
from app.core import bulk
from app.exclusions import service as exclusion_service
from app.policies import service as policy_service
from app.policies.matching import select_policy, ticket_matches
from app.policies.service import PublishedPolicy
from app.tickets.events import EventType, NormalizedEvent, TicketSnapshot
from app.tickets.models import Ticket, TicketEventRow

OPEN_STATES = ("running", "paused")


@dataclass
class ClockChange:
    """A stored clock before and after one projection (``before`` is None for a new clock)."""

    row: ClockRecord
    before: dict[str, object] | None
    after: ClockState


@dataclass
class Projection:
    ticket: Ticket
    policy: PublishedPolicy | None
    # The configuration it ran with (listeners reuse it instead of loading it again).
    ctx: Context
    clocks: list[ClockState] = field(default_factory=list)
    changes: list[ClockChange] = field(default_factory=list)


@dataclass
class _Writes:
    """What a batch of projections has to write besides the tickets."""

    new: list[ClockRecord] = field(default_factory=list)
    records: list[ClockRecord] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    # Ticket id -> snapshot columns that changed.
    tickets: dict[int, dict[str, object]] = field(default_factory=dict)

    def snapshot(self, ticket: Ticket, values: Mapping[str, object]) -> None:
        self.tickets.setdefault(ticket.id, {}).update(store.set_snapshot(ticket, values))


# Called once per batch of projections, in its transaction, with (session, projections that have a
# policy, now), after new clocks have their ids: escalations and outbound events hang off this
# without the projection knowing them. Changes they make to ``ClockChange.row`` values are stored.
ProjectionListener = Callable[[Session, Sequence["Projection"], datetime], None]
LISTENERS: list[ProjectionListener] = []


def ticket_events(session: Session, ticket: Ticket, *, until: datetime | None = None) -> list[NormalizedEvent]:
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


def choose_policy(session: Session, ticket: Ticket, snapshot: TicketSnapshot, ctx: Context) -> PublishedPolicy | None:
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
    ticket: Ticket,
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
    tickets: Sequence[Ticket],
    now: datetime,
    ctx: Context | None = None,
    *,
    logged: Mapping[int, list[NormalizedEvent]] | None = None,
) -> list[Projection]:
    """Replay several tickets from their logs and store their snapshots and clocks.

    Their events and stored clocks are read with one query each and their rows written with a few
    statements for all of them (``app.clocks.store``), because per-ticket round trips cost more
    than the replays; the listeners then see every new clock with its id. ``logged`` gives the whole
    log of tickets created in this transaction (they have no stored clocks either), which is then
    not read back.
    """
    if not tickets:
        return []
    ctx = ctx or Context.load(session)
    known = logged or {}
    ids = [ticket.id for ticket in tickets if ticket.id not in known]
    events = {**_events_by_ticket(session, ids), **known} if ids else dict(known)
    clocks = store.stored_clocks(session, ids)
    writes = _Writes()
    with session.no_autoflush:
        results = [_project(session, t, ctx, now, events.get(t.id, []), clocks.get(t.id, []), writes) for t in tickets]
    store.write_tickets(session, writes.tickets)
    store.insert_clocks(session, writes.new)
    with_policy = [result for result in results if result.policy is not None]
    for listener in LISTENERS:
        listener(session, with_policy, now)
    store.flush_clocks(session, writes.records, writes.deleted)
    return results


def project(session: Session, ticket: Ticket, ctx: Context, now: datetime) -> Projection:
    """Replay ``ticket`` from its log, refresh its snapshot and store its clocks."""
    return project_many(session, [ticket], now, ctx)[0]


def _events_by_ticket(session: Session, ticket_ids: list[int]) -> dict[int, list[NormalizedEvent]]:
    found: dict[int, list[NormalizedEvent]] = {}
    for ticket_id, body in bulk.select_in(
        session, TicketEventRow, ("ticket_id", "body"), ("ticket_id",), (), ticket_ids
    ):
        found.setdefault(ticket_id, []).append(NormalizedEvent.model_validate(body))
    return found


def _project(
    session: Session,
    ticket: Ticket,
    ctx: Context,
    now: datetime,
    events: list[NormalizedEvent],
    stored: list[ClockRecord],
    writes: _Writes,
) -> Projection:
    snapshot = replay_snapshot(events)
    writes.snapshot(ticket, _snapshot_values(ticket, snapshot, events, now))
    policy = choose_policy(session, ticket, snapshot, ctx) if ticket.opened_at is not None else None
    result = Projection(ticket, policy, ctx)
    writes.records += stored
    if policy is None:
        return result
    writes.snapshot(ticket, {"policy_version_id": policy.version_id})
    states = derive(session, ticket, policy, events, ctx, now)
    result.clocks = states
    result.changes = _store_clocks(ticket, policy, states, ctx, now, stored, writes)
    return result


def _snapshot_values(
    ticket: Ticket, snapshot: TicketSnapshot, events: Sequence[NormalizedEvent], now: datetime
) -> dict[str, object]:
    values = {
        name: getattr(snapshot, name)
        for name in ("title", "status", "priority", "tier", "assignee", "project", "type", "timezone", "url")
    }
    created = [e.at for e in events if e.type is EventType.created]
    values |= {
        "status_category": snapshot.status_category.value if snapshot.status_category else None,
        "fields": dict(snapshot.fields),
        "opened_at": min(created) if created else None,
        "last_event_at": max((e.at for e in events), default=ticket.last_event_at),
        "deleted": any(e.type is EventType.deleted for e in events),
        "updated_at": now,
        "replay_requested_at": None,
    }
    return values


def _with_exemption(state: ClockState, reason: str | None) -> ClockState:
    return state if reason is None else state.model_copy(update={"exempt": True, "exemption_reason": reason})


_VIEW = ("state", "breached", "met", "due_at", "warn_at", "paused_reason", "cycle")


def _row_view(row: ClockRecord) -> dict[str, object]:
    return {name: row.values[name] for name in _VIEW}


def next_action_at(state: ClockState, windows: Sequence[ExclusionWindow], now: datetime) -> datetime | None:
    """The next instant at which this clock's stored figures stop being right without a new event."""
    if state.state.value not in OPEN_STATES:
        return None
    candidates = [t for t in (state.warn_at, state.target_at, state.due_at) if t is not None and t > now]
    candidates += [t for w in windows for t in (w.start, w.end) if t > now]
    return min(candidates, default=None)


def _store_clocks(
    ticket: Ticket,
    policy: PublishedPolicy,
    states: list[ClockState],
    ctx: Context,
    now: datetime,
    stored: list[ClockRecord],
    writes: _Writes,
) -> list[ClockChange]:
    existing = {(row.values["policy_version_id"], row.values["metric"], row.values["cycle"]): row for row in stored}
    changes: list[ClockChange] = []
    produced = set()
    # The engine reads clocks as of the newest event when that lies after ``now``.
    as_of = max(now, ticket.last_event_at)
    for state in states:
        key = (policy.version_id, state.metric, state.cycle)
        produced.add(key)
        row = existing.get(key)
        before = _row_view(row) if row is not None else None
        values = _values(ticket, policy, state, as_of, next_action_at(state, ctx.exclusions, as_of))
        if row is None:
            row = ClockRecord(values)
            writes.new.append(row)
            writes.records.append(row)
        else:
            row.values.update(values)
        changes.append(ClockChange(row, before, state))
    for key, row in existing.items():
        if key in produced:
            continue
        if key[0] == policy.version_id:
            # A cycle that a late event showed never happened.
            assert row.id is not None
            writes.deleted.append(row.id)
            writes.records.remove(row)
        elif row.state in OPEN_STATES:
            reason = "moved to another policy version"
            detail = {**row.values["detail"], "state": "cancelled", "cancelled_reason": reason}
            row.values.update(state="cancelled", due_at=None, next_action_at=None, paused_reason=None, detail=detail)
    return changes


def _values(
    ticket: Ticket, policy: PublishedPolicy, state: ClockState, now: datetime, next_at: datetime | None
) -> dict[str, object]:
    return {
        "ticket_id": ticket.id,
        "policy_version_id": policy.version_id,
        "policy": state.policy,
        "policy_version": policy.version,
        "metric": state.metric,
        "cycle": state.cycle,
        "state": state.state.value,
        "breached": state.breached,
        "met": state.met,
        "exempt": state.exempt,
        "target_seconds": state.target_seconds,
        "limit_seconds": state.limit_seconds,
        "elapsed_seconds": state.elapsed_seconds,
        "due_at": state.due_at,
        "target_at": state.target_at,
        "warn_at": state.warn_at,
        "breached_at": state.breached_at,
        "started_at": state.started_at,
        "stopped_at": state.stopped_at,
        "paused_reason": state.paused_reason,
        "calendar": state.calendar,
        "timezone": state.timezone,
        "source": ticket.source,
        "ticket_key": ticket.key,
        "priority": state.priority,
        "tier": state.tier,
        "assignee": ticket.assignee,
        "next_action_at": next_at,
        "evaluated_at": now,
        "detail": state.as_dict(),
    }
