"""The clock projection: bring tickets' stored snapshots and clock rows in line with their event logs.

Each ticket's clock fold (``app.clocks.evaluate.ClockFold``) is stored after every projection
(``replay_states``). The next projection resumes it with the events logged since, when they all
come after it and the fold's inputs (engine format, policy version, configuration stamp) are
unchanged; otherwise, or when asked (``full``, repair), it replays the ticket's whole log. Either
way the stored rows are what ``evaluate`` says for the whole log (tests/clocks/test_incremental_fold.py),
and an event that arrives in order costs the same however long the ticket's history is.

The projection writes clock rows; what follows from the changes (transition events, escalation
levels, write-backs) is the caller's next step (``app.ingestion.flow``), which needs the new rows'
ids: new rows are flushed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.clocks import replay_state
from app.clocks.context import Context
from app.clocks.evaluate import ClockFold
from app.clocks.models import OPEN_STATES, ClockRow, ReplayStateRow
from app.clocks.replay import ordered_events
from app.clocks.state import ClockState, ExclusionWindow
from app.exclusions import service as exclusion_service
from app.policies import service as policy_service
from app.policies.matching import select_policy, ticket_matches
from app.policies.service import PublishedPolicy
from app.tickets import failures
from app.tickets import service as ticket_service
from app.tickets.events import SNAPSHOT_FIELDS, NormalizedEvent, TicketSnapshot
from app.tickets.models import TicketRow

# The figures of a stored clock that are as of its ``evaluated_at``: readers bring them up to date
# with the calendar (``app.clocks.live``), so a change in them alone is not a reason to rewrite the row.
AS_OF_FIGURES = frozenset({"elapsed_seconds", "remaining_seconds", "percent", "over_target"})
# What a clock's transition is judged on (``app.escalations.reactions``).
VIEW_FIELDS = ("state", "breached", "met", "due_at", "warn_at", "paused_reason", "cycle")


@dataclass
class ClockChange:
    """A clock row after one projection, and what it said before (None for a new clock)."""

    row: ClockRow
    before: dict[str, object] | None
    after: ClockState


@dataclass
class Projection:
    ticket: TicketRow
    policy: PublishedPolicy | None
    # The configuration it ran with (the reactions reuse it instead of loading it again).
    ctx: Context
    clocks: list[ClockState] = field(default_factory=list)
    changes: list[ClockChange] = field(default_factory=list)
    # Rows of earlier policy versions that still stand for a derived cycle (finished before a migration).
    earlier_rows: dict[tuple[str, int], int] = field(default_factory=dict)


@dataclass
class _Folded:
    """One ticket's fold after this projection's events, and how it got there."""

    ticket: TicketRow
    fold: ClockFold
    policy: PublishedPolicy | None
    # Resumed from the stored fold (only the kept cycles' rows can change), or replayed in full.
    resumed: bool
    last_event_row: int
    stored: ReplayStateRow | None


def project(
    session: Session, tickets: Sequence[TicketRow], now: datetime, ctx: Context, *, full: bool = False
) -> list[Projection]:
    """Project the tickets from their logs: resume each stored fold with its new events (replay the
    whole log when that is not possible, or for every ticket when ``full``); store snapshots and clocks."""
    if not tickets:
        return []
    folded = _fold(session, tickets, ctx, full=full)
    rows = _clock_rows(session, folded)
    with session.no_autoflush:
        projections = [_store(session, f, ctx, now, rows[f.ticket.id]) for f in folded]
    session.flush()  # new clock rows get their ids, which the stored folds and the reactions need
    for f, result in zip(folded, projections, strict=True):
        _keep(session, f, result, ctx, now)
    return projections


def _fold(session: Session, tickets: Sequence[TicketRow], ctx: Context, *, full: bool) -> list[_Folded]:
    ids = [t.id for t in tickets]
    stored = {s.ticket_id: s for s in session.scalars(select(ReplayStateRow).where(ReplayStateRow.ticket_id.in_(ids)))}
    usable = {
        t.id: stored[t.id] for t in tickets if not full and fold_is_current(stored.get(t.id), ctx, t.policy_version_id)
    }
    logged = ticket_service.logged_events(session, ids, after_row={tid: s.last_event_row for tid, s in usable.items()})
    folded: dict[int, _Folded] = {}
    for ticket in tickets:
        state = usable.get(ticket.id)
        if state is not None and (resumed := _resume(session, ticket, state, logged[ticket.id], ctx)) is not None:
            fold, policy = resumed
            last = max((row for row, _ in logged[ticket.id]), default=state.last_event_row)
            folded[ticket.id] = _Folded(ticket, fold, policy, True, last, state)
    whole = [t.id for t in tickets if t.id not in folded]
    if whole:
        # Tickets whose stored fold was resumed from are read again in full when it could not be.
        again = [tid for tid in whole if tid in usable]
        logs = {**logged, **ticket_service.logged_events(session, again)} if again else logged
        for ticket in tickets:
            if ticket.id in folded:
                continue
            events = logs[ticket.id]
            fold, policy = _replay(session, ticket, [e for _, e in events], ctx)
            last = max((row for row, _ in events), default=0)
            folded[ticket.id] = _Folded(ticket, fold, policy, False, last, stored.get(ticket.id))
    return [folded[t.id] for t in tickets]


def fold_is_current(stored: ReplayStateRow | None, ctx: Context, policy_version_id: int | None) -> bool:
    """Whether a stored fold may be resumed: computed by this engine's fold format, under today's
    configuration (calendars, exclusion windows) and for the ticket's policy version."""
    return (
        stored is not None
        and stored.fold_format == replay_state.FOLD_FORMAT
        and stored.config_stamp == ctx.stamp
        and stored.policy_version_id == policy_version_id
    )


def _resume(
    session: Session,
    ticket: TicketRow,
    stored: ReplayStateRow,
    logged: list[tuple[int, NormalizedEvent]],
    ctx: Context,
) -> tuple[ClockFold, PublishedPolicy | None] | None:
    """The stored fold fed with the events logged since, if they all follow it and the ticket keeps its
    policy version; None when the whole log must be replayed."""
    policy = _version(session, stored.policy_version_id)
    fold = replay_state.load(policy.spec if policy else None, ticket.source, ctx.exclusions, stored.state)
    new = ordered_events(e for _, e in logged)
    if not all(fold.follows(e) for e in new):
        return None  # a late event: its place in the history changes what came after it
    fold.feed(new)
    if _chosen(session, ticket, fold, ctx) is not policy:
        return None
    return fold, policy


def _replay(
    session: Session, ticket: TicketRow, events: list[NormalizedEvent], ctx: Context
) -> tuple[ClockFold, PublishedPolicy | None]:
    """The fold of the ticket's whole log under the policy it matches once replayed."""
    ordered = ordered_events(events)
    pinned = _version(session, ticket.policy_version_id)
    fold = ClockFold(pinned.spec if pinned else None, ticket.source, ctx.exclusions)
    fold.feed(ordered)
    chosen = _chosen(session, ticket, fold, ctx)
    if chosen is not pinned:
        fold = ClockFold(chosen.spec if chosen else None, ticket.source, ctx.exclusions)
        fold.feed(ordered)
    return fold, chosen


def _chosen(session: Session, ticket: TicketRow, fold: ClockFold, ctx: Context) -> PublishedPolicy | None:
    """The policy the folded ticket is under: none before its ``created`` event."""
    return choose_policy(session, ticket, fold.ticket, ctx) if fold.opened_at is not None else None


def _clock_rows(session: Session, folded: Sequence[_Folded]) -> dict[int, list[ClockRow]]:
    """The clock rows each projection may change: the kept cycles' rows of a resumed fold, every row of
    a replayed ticket."""
    kept = [i for f in folded if f.resumed and f.stored is not None for i in f.stored.clock_ids]
    whole = [f.ticket.id for f in folded if not f.resumed]
    found: dict[int, list[ClockRow]] = {f.ticket.id: [] for f in folded}
    wanted = [ClockRow.id.in_(kept)] if kept else []
    wanted += [ClockRow.ticket_id.in_(whole)] if whole else []
    if wanted:
        for row in session.scalars(select(ClockRow).where(or_(*wanted)).order_by(ClockRow.id)):
            found[row.ticket_id].append(row)
    return found


def _store(session: Session, f: _Folded, ctx: Context, now: datetime, rows: list[ClockRow]) -> Projection:
    ticket, fold, policy = f.ticket, f.fold, f.policy
    _set_snapshot(ticket, fold, now)
    result = Projection(ticket, policy, ctx)
    if policy is None:
        return result
    ticket.policy_version_id = policy.version_id
    result.clocks = with_exemptions(session, ticket, fold.states(now, ctx.resolver()), ctx)
    result.changes, result.earlier_rows = _store_clocks(
        session, ticket, policy, result.clocks, ctx, now, rows, replayed=not f.resumed
    )
    return result


def _keep(session: Session, f: _Folded, result: Projection, ctx: Context, now: datetime) -> None:
    """Store the fold, pruned to the cycles a later event can change, with their rows' ids."""
    if f.fold.position is None:
        return  # no event folded (nothing to resume from)
    f.fold.prune()
    kept = {(run.name, cycle.number) for run in f.fold.runs for cycle in run.cycles}
    values = {
        "policy_version_id": f.policy.version_id if f.policy else None,
        "fold_format": replay_state.FOLD_FORMAT,
        "config_stamp": ctx.stamp,
        "last_event_row": f.last_event_row,
        "state": replay_state.dump(f.fold),
        # An earlier version's row standing for a kept cycle is kept too: the cycle may yet reopen.
        "clock_ids": [c.row.id for c in result.changes if (c.after.metric, c.after.cycle) in kept]
        + [row_id for cycle, row_id in result.earlier_rows.items() if cycle in kept],
        "updated_at": now,
    }
    if f.stored is None:
        session.add(ReplayStateRow(ticket_id=f.ticket.id, **values))
    else:
        for name, value in values.items():
            setattr(f.stored, name, value)


def _version(session: Session, version_id: int | None) -> PublishedPolicy | None:
    return policy_service.version_by_id(session, version_id) if version_id is not None else None


def choose_policy(
    session: Session, ticket: TicketRow, snapshot: TicketSnapshot, ctx: Context
) -> PublishedPolicy | None:
    """The ticket's pinned version while its policy still matches; otherwise the first active match.

    A ticket keeps the version it matched: editing a policy never moves it (only an explicit
    migration does). If the pinned policy stops matching and another matches, the ticket moves
    to that one; the old clocks stay, cancelled.
    """
    pinned = _version(session, ticket.policy_version_id)
    if pinned is not None and ticket_matches(pinned.spec.match, snapshot, ticket.source):
        return pinned
    candidate = select_policy([p.spec for p in ctx.policies], snapshot, ticket.source)
    if candidate is None:
        return pinned
    chosen = next(p for p in ctx.policies if p.spec is candidate)
    if pinned is not None and chosen.name == pinned.name:
        return pinned
    return chosen


def _set_snapshot(ticket: TicketRow, fold: ClockFold, now: datetime) -> None:
    """Give the ticket row the snapshot its events leave (the ORM writes only what changed)."""
    snapshot = fold.ticket
    for name in SNAPSHOT_FIELDS:
        value = getattr(snapshot, name)
        setattr(ticket, name, value.value if name == "status_category" and value is not None else value)
    ticket.fields = dict(snapshot.fields)
    ticket.opened_at = fold.opened_at
    if fold.position is not None:
        ticket.last_event_at = fold.position[0]
    ticket.deleted = fold.deleted
    ticket.updated_at = now
    ticket.replay_requested_at = None
    failures.clear(ticket)


def with_exemptions(session: Session, ticket: TicketRow, states: list[ClockState], ctx: Context) -> list[ClockState]:
    """The states with the ticket's exemptions applied (exempt, with the reason)."""
    if not ctx.any_exemptions or not states:
        return states
    exempt = exclusion_service.exemptions_for(session, ticket.id)
    return [_exempted(s, exempt.get((s.metric, s.cycle))) for s in states]


def _exempted(state: ClockState, reason: str | None) -> ClockState:
    return state if reason is None else state.model_copy(update={"exempt": True, "exemption_reason": reason})


def next_action_at(state: ClockState, windows: Sequence[ExclusionWindow], now: datetime) -> datetime | None:
    """The next instant at which this clock's stored figures stop being right without a new event."""
    if state.state.value not in OPEN_STATES:
        return None
    candidates = [t for t in (state.warn_at, state.target_at, state.due_at) if t is not None and t > now]
    candidates += [t for w in windows for t in (w.start, w.end) if t > now]
    return min(candidates, default=None)


def _view(row: ClockRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in VIEW_FIELDS}


def _store_clocks(
    session: Session,
    ticket: TicketRow,
    policy: PublishedPolicy,
    states: list[ClockState],
    ctx: Context,
    now: datetime,
    rows: list[ClockRow],
    *,
    replayed: bool,
) -> tuple[list[ClockChange], dict[tuple[str, int], int]]:
    """Write the derived clocks into their rows (new rows for new cycles), and say which row stands for
    each derived cycle.

    A cycle that finished under an earlier policy version keeps that version's row and verdict while it
    stays finished: only open clocks move to a new version (a migration never re-judges a met clock). A
    cycle that is open under this version supersedes the earlier row. A full replay also settles the
    rows it did not derive: same version, a cycle a late event showed never happened (deleted); another
    version, cancelled while open (the new version does not track that clock)."""
    existing = {(row.policy_version_id, row.metric, row.cycle): row for row in rows}
    earlier = {
        (r.metric, r.cycle): r for r in rows if r.policy_version_id != policy.version_id and r.state != "superseded"
    }
    changes: list[ClockChange] = []
    standing: dict[tuple[str, int], int] = {}
    # The engine reads clocks as of the newest event when that lies after ``now``.
    as_of = max(now, ticket.last_event_at)
    for state in states:
        row = existing.pop((policy.version_id, state.metric, state.cycle), None)
        # A superseded row of this version (the ticket moved away and back) is taken up again only when
        # the cycle's standing row gives way.
        if (row is None or row.state == "superseded") and (before := earlier.get((state.metric, state.cycle))):
            if before.state not in OPEN_STATES and state.state.value not in OPEN_STATES:
                standing[state.metric, state.cycle] = before.id
                continue
            _supersede(before, policy)
        values = _values(ticket, policy, state, next_action_at(state, ctx.exclusions, as_of))
        if row is None:
            row = ClockRow(**values, evaluated_at=as_of)
            session.add(row)
            changes.append(ClockChange(row, None, state))
            continue
        before_view = _view(row)
        # A clock whose course did not change keeps its row and evaluation instant: its stored figures
        # brought up to ``as_of`` are the new ones (time alone moves a running clock).
        if _course_changed(row, values):
            for name, value in values.items():
                setattr(row, name, value)
            row.evaluated_at = as_of
        changes.append(ClockChange(row, before_view, state))
    if replayed:
        for (version_id, _, _), row in existing.items():
            if version_id == policy.version_id:
                session.delete(row)
            elif row.state in OPEN_STATES:
                _close(row, "cancelled", "moved to another policy version")
    return changes, standing


def _supersede(row: ClockRow, policy: PublishedPolicy) -> None:
    _close(row, "superseded", f"superseded by version {policy.version} of policy {policy.name}")


def _close(row: ClockRow, state: str, reason: str) -> None:
    row.detail = {**row.detail, "state": state, "cancelled_reason": reason}
    row.state, row.due_at, row.next_action_at, row.paused_reason = state, None, None, None


def _course_changed(row: ClockRow, values: dict[str, Any]) -> bool:
    """Whether the clock's new values differ from its row in anything but the as-of figures."""
    for name, value in values.items():
        if name == "detail":
            old: dict[str, Any] = row.detail
            if old.keys() != value.keys() or any(old[k] != v for k, v in value.items() if k not in AS_OF_FIGURES):
                return True
        elif name not in AS_OF_FIGURES and getattr(row, name) != value:
            return True
    return False


def _values(
    ticket: TicketRow, policy: PublishedPolicy, state: ClockState, next_at: datetime | None
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
        "detail": state.as_dict(),
    }
