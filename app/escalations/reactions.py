"""Reacting to projected clocks: outbound events for clock transitions, escalation levels fired exactly
once, and each clock's ``next_action_at`` pulled forward to its next unfired level.

``app.ingestion.flow`` calls :func:`react` right after every projection, in its transaction, so
whatever re-derives a ticket — an inbound event, the escalation scanner, a repair — fires the
levels that are due and writes their actions to the outbox in the same commit as the clock state.
``fired_levels`` is unique on ``(clock_id, cycle, level_key)`` and written insert-if-absent: of any
number of concurrent projections, exactly one records a level and emits its actions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.clocks.projection import VIEW_FIELDS, ClockChange, Projection
from app.clocks.state import ClockState, ClockStatus
from app.connections.models import ConnectionRow
from app.core.db import insert_ignoring_conflicts
from app.core.instants import utc_iso
from app.escalations import writeback
from app.escalations.levels import PlannedLevel, may_fire, plan
from app.escalations.models import FiredLevelRow
from app.tickets.models import TicketRow
from app.webhooks import outbox


def clock_document(change: ClockChange) -> dict[str, Any]:
    """The clock as events carry it: the engine's fields (no timeline) plus its id and policy version."""
    # The projection stored ``change.after.as_dict()`` as the row's detail.
    detail = change.row.detail
    doc = {name: value for name, value in detail.items() if name != "timeline"}
    return {**doc, "id": change.row.id, "policy_version": change.row.policy_version}


def _view(state: ClockState) -> dict[str, object]:
    return {name: getattr(state, name) for name in VIEW_FIELDS} | {"state": state.state.value}


def _transition(change: ClockChange) -> str | None:
    """The event type a clock's move from ``before`` to ``after`` calls for, if any."""
    before, after = change.before, change.after
    if after.met and (before is None or not before["met"]):
        return "sla.met"
    if after.state is ClockStatus.paused and (before is None or before["state"] != "paused"):
        return "sla.paused"
    if after.state is ClockStatus.running and before is not None and before["state"] == "paused":
        return "sla.resumed"
    if before is None or any(before[name] != value for name, value in _view(after).items()):
        return "ticket.updated"
    return None


def _level_doc(level: PlannedLevel) -> dict[str, Any]:
    spec = level.spec
    return {
        "key": level.key,
        "at": str(spec.at),
        "clock": spec.clock,
        "metric": spec.metric,
        "instant": utc_iso(level.instant),
    }


def _fired_levels(session: Session, clock_ids: list[int]) -> dict[tuple[int, int], dict[str, FiredLevelRow]]:
    fired: dict[tuple[int, int], dict[str, FiredLevelRow]] = defaultdict(dict)
    for row in session.scalars(select(FiredLevelRow).where(FiredLevelRow.clock_id.in_(clock_ids))):
        fired[(row.clock_id, row.cycle)][row.level_key] = row
    return fired


@dataclass(frozen=True)
class _Firing:
    """A level that is due, in its place among the batch's events until it is recorded as fired."""

    ticket: TicketRow
    change: ClockChange
    level: PlannedLevel

    @property
    def key(self) -> tuple[int, int, str]:
        assert self.change.row.id is not None
        return (self.change.row.id, self.change.after.cycle, self.level.key)


def _record_fired(session: Session, firings: list[_Firing], now: datetime) -> set[tuple[int, int, str]]:
    """Record every due level of the batch in one insert-if-absent; the keys recorded here (the others
    someone already fired).

    One statement per batch, not one per level: on PostgreSQL each statement is a round trip, and a
    scanner thread that shares the interpreter with busy I/O lanes waits for the GIL after every one.
    Rows go in key order, so concurrent writers of the same levels take their locks in the same order.
    """
    if not firings:
        return set()
    rows = []
    for firing in sorted(firings, key=lambda f: f.key):
        assert firing.level.instant is not None
        clock_id, cycle, level_key = firing.key
        rows.append(
            {
                "clock_id": clock_id,
                "cycle": cycle,
                "level_key": level_key,
                "ticket_id": firing.ticket.id,
                "instant": firing.level.instant,
                "fired_at": now,
            }
        )
    statement = insert_ignoring_conflicts(session, FiredLevelRow).returning(
        FiredLevelRow.clock_id, FiredLevelRow.cycle, FiredLevelRow.level_key
    )
    return {(row[0], row[1], row[2]) for row in session.execute(statement, rows)}


def _actions(
    session: Session,
    firing: _Firing,
    now: datetime,
    events: list[dict[str, Any]],
    connections: dict[str, ConnectionRow | None],
) -> None:
    """Queue the actions of a level just recorded as fired: outbox events and write-back tasks."""
    ticket, change, level = firing.ticket, firing.change, firing.level
    assert change.row.id is not None
    clock = clock_document(change)
    for action in level.spec.actions:
        if action.webhook is not None:
            extra = {"level": _level_doc(level)}
            events.append(
                outbox.event(action.webhook, now, ticket=ticket, clock=clock, clock_id=change.row.id, extra=extra)
            )
        else:
            writeback.enqueue(session, ticket, change.row.id, level.key, action, now, connections=connections)


def _correct(
    session: Session,
    ticket: TicketRow,
    change: ClockChange,
    planned: dict[str, PlannedLevel],
    fired: dict[str, FiredLevelRow],
    as_of: datetime,
    now: datetime,
    events: list[dict[str, Any] | _Firing],
) -> bool:
    """Retract fired levels the re-derived clock never reached; emit ``sla.corrected``. True if corrected."""
    retracted = [key for key, level in planned.items() if key in fired and not level.reached(as_of)]
    was_breached = bool(change.before and change.before["breached"]) and not change.after.breached
    if not retracted and not was_breached:
        return False
    if retracted:
        session.execute(delete(FiredLevelRow).where(FiredLevelRow.id.in_([fired.pop(k).id for k in retracted])))
    correction = {"breach_retracted": was_breached, "retracted_levels": retracted}
    clock = clock_document(change)
    extra = {"correction": correction}
    events.append(outbox.event("sla.corrected", now, ticket=ticket, clock=clock, clock_id=change.row.id, extra=extra))
    return True


def react(session: Session, projections: Sequence[Projection], now: datetime) -> None:
    """Emit transition events, fire due levels and schedule the next one for every clock just projected
    (the outbox events of the whole batch in one write, in the order of the projections)."""
    escalating = [p for p in projections if p.policy is not None and p.policy.spec.escalations]
    clock_ids = [c.row.id for p in escalating for c in p.changes if c.row.id is not None]
    fired_by_clock = _fired_levels(session, clock_ids) if clock_ids else {}
    pending: list[dict[str, Any] | _Firing] = []
    for projection in projections:
        _on_projection(session, projection, fired_by_clock, now, pending)
    recorded = _record_fired(session, [item for item in pending if isinstance(item, _Firing)], now)
    events: list[dict[str, Any]] = []
    connections: dict[str, ConnectionRow | None] = {}
    for item in pending:
        if not isinstance(item, _Firing):
            events.append(item)
        elif item.key in recorded:
            _actions(session, item, now, events, connections)
    outbox.write(session, events)


def _on_projection(
    session: Session,
    projection: Projection,
    fired_by_clock: dict[tuple[int, int], dict[str, FiredLevelRow]],
    now: datetime,
    events: list[dict[str, Any] | _Firing],
) -> None:
    ticket = projection.ticket
    as_of = max(now, ticket.last_event_at)
    specs = projection.policy.spec.escalations if projection.policy is not None else []
    calendars = projection.ctx.calendars if specs else None
    for change in projection.changes:
        assert change.row.id is not None
        planned = {p.key: p for p in plan(specs, change.after, calendars)} if calendars is not None else {}
        fired = fired_by_clock.get((change.row.id, change.after.cycle), {})
        corrected = _correct(session, ticket, change, planned, fired, as_of, now, events)
        kind = _transition(change)
        if kind is not None and not (corrected and kind == "ticket.updated"):
            clock = clock_document(change)
            events.append(outbox.event(kind, now, ticket=ticket, clock=clock, clock_id=change.row.id))
        if not may_fire(change.after):
            continue
        pending = sorted(
            (p for p in planned.values() if p.key not in fired and p.instant is not None),
            key=lambda p: (p.instant, p.key),
        )
        for level in pending:
            if level.reached(as_of):
                events.append(_Firing(ticket, change, level))
        upcoming = [p.instant for p in pending if p.instant is not None and p.instant > as_of]
        if upcoming:
            current = change.row.next_action_at
            change.row.next_action_at = min(upcoming) if current is None else min(current, *upcoming)
