"""A ticket's SLA status: its snapshot and every clock of its policy version, now or as of an instant.

Now: the ticket's stored fold (``replay_states``) read at the instant for the cycles it kept, and the
stored rows of the cycles that finished before them, so a read costs the same however long the
ticket's history is; a ticket whose fold is not current (queued for projection, configuration
changed since) is replayed from its log. As of an instant (``?at=``, audits): the events known up to
it replayed through the engine. Nothing is stored either way.

The answer lists each metric's latest ``RECENT_CYCLES`` cycles and how many it has had: a metric that
repeats (``next_response``) gathers a cycle per customer comment, and a ticket that lives for years
would otherwise grow an answer of megabytes. ``cycles`` pages through the earlier ones.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from app.clocks import projection, replay_state
from app.clocks.context import Context
from app.clocks.evaluate import ClockFold
from app.clocks.models import STANDS, ClockRow, ReplayStateRow
from app.clocks.replay import ordered_events
from app.clocks.state import ClockState
from app.exclusions import service as exclusion_service
from app.policies import service as policy_service
from app.policies.service import PublishedPolicy
from app.tickets import service as ticket_service
from app.tickets.events import SNAPSHOT_FIELDS, NormalizedEvent
from app.tickets.models import TicketRow
from app.tickets.schemas import RECENT_CYCLES, CyclePage, ProjectionFailureOut, TicketOut, TicketStatusOut


def current(session: Session, ticket: TicketRow, now: datetime) -> TicketStatusOut:
    """The ticket's snapshot and clocks as of ``now``: its stored fold read at ``now`` for the cycles it
    kept and the stored rows of the finished ones; a replay of its log when the fold is not current."""
    policy = _policy(session, ticket)
    ctx = Context.load(session)
    stored = session.get(ReplayStateRow, ticket.id)
    current_fold = projection.fold_is_current(stored, ctx, policy.version_id if policy else None)
    if ticket.projection_error is not None:
        return _as_last_stored(session, ticket, policy, now)
    if stored is None or not current_fold or ticket.replay_requested_at is not None:
        logged = ticket_service.logged_events(session, [ticket.id])[ticket.id]
        return _replayed(session, ticket, [event for _, event in logged], policy, ctx, now, standing=True)
    fold = replay_state.load(policy.spec if policy else None, ticket.source, ctx.exclusions, stored.state)
    clocks = _standing(
        session, ticket, policy, _clock_docs(session, ticket, policy, fold.states(now, ctx.resolver()), ctx)
    )
    if policy is not None:
        for run in fold.runs:
            # The cycles the fold pruned are finished: their stored rows are final.
            oldest_kept = min((c["cycle"] for c in clocks if c["metric"] == run.name), default=run.count + 1)
            clocks += _stored_cycles(session, ticket, run.name, before=oldest_kept, limit=RECENT_CYCLES)
    return _status(session, ticket, _stored_ticket(ticket), policy, _recent(policy, clocks), _cycle_counts(fold), now)


def _as_last_stored(
    session: Session, ticket: TicketRow, policy: PublishedPolicy | None, now: datetime
) -> TicketStatusOut:
    """A ticket set aside after a failed projection: its snapshot and clock rows as the last projection
    that worked left them (what failed there would fail here too), with the failure."""
    clocks: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    if policy is not None:
        for metric in policy.spec.tracked_metrics():
            clocks += _stored_cycles(session, ticket, metric, before=None, limit=RECENT_CYCLES)
        query = (
            select(ClockRow.metric, func.max(ClockRow.cycle))
            .where(ClockRow.ticket_id == ticket.id, STANDS)
            .group_by(ClockRow.metric)
        )
        counts = {metric: number for metric, number in session.execute(query)}
    return _status(session, ticket, _stored_ticket(ticket), policy, _recent(policy, clocks), counts, now)


def _stored_ticket(ticket: TicketRow) -> TicketOut:
    snapshot = {name: getattr(ticket, name) for name in SNAPSHOT_FIELDS}
    return TicketOut(
        source=ticket.source,
        key=ticket.key,
        **snapshot,
        fields=ticket.fields,
        opened_at=ticket.opened_at,
        deleted=ticket.deleted,
    )


def cycles(session: Session, ticket: TicketRow, metric: str, *, before: int | None, limit: int) -> CyclePage:
    """The ticket's cycles of ``metric`` under its policy version, newest first, as last projected."""
    policy = _policy(session, ticket)
    if policy is None:
        return CyclePage(items=[], next_before=None)
    page = _stored_cycles(session, ticket, metric, before=before, limit=limit + 1)
    more = len(page) > limit
    return CyclePage(items=page[:limit], next_before=page[limit - 1]["cycle"] if more else None)


def as_of(session: Session, ticket: TicketRow, at: datetime, *, known_at: datetime | None = None) -> TicketStatusOut:
    """Snapshot and clocks from the events that happened at or before ``at`` (and, with ``known_at``,
    had been received by then), replayed."""
    events = ticket_service.events_until(session, ticket, at, known_at=known_at)
    return _replayed(session, ticket, events, _policy(session, ticket), Context.load(session), at)


def _replayed(
    session: Session,
    ticket: TicketRow,
    events: list[NormalizedEvent],
    policy: PublishedPolicy | None,
    ctx: Context,
    at: datetime,
    *,
    standing: bool = False,
) -> TicketStatusOut:
    fold = ClockFold(policy.spec if policy else None, ticket.source, ctx.exclusions)
    fold.feed(ordered_events(events))
    clocks = _clock_docs(session, ticket, policy, fold.states(at, ctx.resolver()), ctx)
    if standing:
        clocks = _standing(session, ticket, policy, clocks)
    snapshot = fold.ticket.model_dump(include=set(SNAPSHOT_FIELDS) | {"fields"})
    category = fold.ticket.status_category
    snapshot["status_category"] = category.value if category else None
    out = TicketOut(source=ticket.source, key=ticket.key, **snapshot, opened_at=fold.opened_at, deleted=fold.deleted)
    return _status(session, ticket, out, policy, _recent(policy, clocks), _cycle_counts(fold), at)


def _standing(
    session: Session, ticket: TicketRow, policy: PublishedPolicy | None, clocks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The derived clocks, each replaced by the row of an earlier policy version that still stands for
    its cycle (a cycle that finished before a migration keeps the verdict it stopped with)."""
    if policy is None or not clocks:
        return clocks
    derived = [(c["metric"], c["cycle"]) for c in clocks]
    query = select(ClockRow.metric, ClockRow.cycle, ClockRow.detail, ClockRow.policy_version).where(
        ClockRow.ticket_id == ticket.id,
        ClockRow.policy_version_id != policy.version_id,
        STANDS,
        tuple_(ClockRow.metric, ClockRow.cycle).in_(derived),
    )
    earlier = {(m, c): {**detail, "policy_version": v} for m, c, detail, v in session.execute(query)}
    return [earlier.get((c["metric"], c["cycle"]), c) for c in clocks]


def _stored_cycles(
    session: Session, ticket: TicketRow, metric: str, *, before: int | None, limit: int
) -> list[dict[str, Any]]:
    # The row that stands for each cycle, whichever version it finished under.
    query = select(ClockRow.detail, ClockRow.policy_version).where(
        ClockRow.ticket_id == ticket.id, STANDS, ClockRow.metric == metric
    )
    if before is not None:
        query = query.where(ClockRow.cycle < before)
    rows = session.execute(query.order_by(ClockRow.cycle.desc()).limit(limit))
    return [{**detail, "policy_version": version} for detail, version in rows]


def _recent(policy: PublishedPolicy | None, clocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each metric's latest ``RECENT_CYCLES`` clocks, metrics in policy order, cycles oldest first."""
    if policy is None:
        return clocks
    order = {name: i for i, name in enumerate(policy.spec.tracked_metrics())}
    recent: list[dict[str, Any]] = []
    shown: Counter[str] = Counter()
    for clock in sorted(clocks, key=lambda c: -c["cycle"]):
        shown[clock["metric"]] += 1
        if shown[clock["metric"]] <= RECENT_CYCLES:
            recent.append(clock)
    return sorted(recent, key=lambda c: (order.get(c["metric"], len(order)), c["cycle"]))


def _cycle_counts(fold: ClockFold) -> dict[str, int]:
    return {run.name: run.count for run in fold.runs}


def _clock_docs(
    session: Session, ticket: TicketRow, policy: PublishedPolicy | None, states: list[ClockState], ctx: Context
) -> list[dict[str, Any]]:
    """The clocks as the API shows them, with their exemptions."""
    if policy is None:
        return []
    exempted = projection.with_exemptions(session, ticket, states, ctx)
    return [{**state.as_dict(), "policy_version": policy.version} for state in exempted]


def _policy(session: Session, ticket: TicketRow) -> PublishedPolicy | None:
    if ticket.policy_version_id is None:
        return None
    return policy_service.version_by_id(session, ticket.policy_version_id)


def _status(
    session: Session,
    ticket: TicketRow,
    out: TicketOut,
    policy: PublishedPolicy | None,
    clocks: list[dict[str, Any]],
    counts: dict[str, int],
    at: datetime,
) -> TicketStatusOut:
    return TicketStatusOut(
        ticket=out,
        as_of=at,
        policy=policy.name if policy else None,
        policy_version=policy.version if policy else None,
        clocks=clocks,
        cycle_counts=counts,
        projection_failure=ProjectionFailureOut.of(ticket),
        exemptions=[
            {
                "metric": row.metric,
                "cycle": row.cycle,
                "reason": row.reason,
                "author": row.author,
                "created_at": row.created_at.isoformat(),
            }
            for row in exclusion_service.list_exemptions(session, ticket.id)
        ],
    )
