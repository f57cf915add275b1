"""Writing events to the outbox, and fanning each out to the subscriptions that want it.

Callers pass their own session: the event, its deliveries and the state change
that caused them commit (or roll back) together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.orm import Session

from app.core.instants import utc_iso
from app.tickets.events import SNAPSHOT_FIELDS
from app.tickets.models import TicketRow
from app.webhooks.models import DeliveryRow, OutboxEventRow, SubscriptionRow

# What an outbound event says of its ticket: its identity and snapshot (the zone is a clock detail).
TICKET_FIELDS = ("source", "key", *(name for name in SNAPSHOT_FIELDS if name != "timezone"))


_CACHE_KEY = "webhooks.subscriptions"
# Disabled subscriptions too: their deliveries are created and held (the delivery lane claims only
# those of enabled subscriptions, oldest first), so re-enabling one sends what it missed.
_SUBSCRIPTIONS = select(SubscriptionRow.id, SubscriptionRow.event_types, SubscriptionRow.filter)


class Subscription(NamedTuple):
    """What fanning out needs of a subscription."""

    id: int
    event_types: list[str]
    filter: dict[str, Any]


def ticket_snapshot(ticket: TicketRow) -> dict[str, Any]:
    """The ticket fields every event carries."""
    return {name: getattr(ticket, name) for name in TICKET_FIELDS}


def event_document(row: OutboxEventRow) -> dict[str, Any]:
    """The JSON body of an event, identical in webhook deliveries and on the SSE stream."""
    return {"id": str(row.id), "type": row.type, "created_at": utc_iso(row.created_at), **row.payload}


def wants(subscription: SubscriptionRow | Subscription, event_type: str, ticket: Mapping[str, Any] | None) -> bool:
    """Whether ``subscription`` takes events of ``event_type`` about ``ticket``."""
    if "*" not in subscription.event_types and event_type not in subscription.event_types:
        return False
    for name in ("tier", "priority"):
        allowed = subscription.filter.get(name) or []
        if allowed and (ticket is None or ticket.get(name) not in allowed):
            return False
    return True


def subscriptions(session: Session) -> list[Subscription]:
    """Every subscription, enabled or not (id, event types, filter), read once per transaction with a
    Core statement; ``forget_subscriptions`` after changing one."""
    cached: list[Subscription] | None = session.info.get(_CACHE_KEY)
    if cached is None:
        cached = [Subscription(*row) for row in session.execute(_SUBSCRIPTIONS)]
        session.info[_CACHE_KEY] = cached
    return cached


def forget_subscriptions(session: Session) -> None:
    """Drop the session's cached subscription list (after a subscription was created or changed)."""
    session.info.pop(_CACHE_KEY, None)


def event(
    event_type: str,
    now: datetime,
    *,
    ticket: TicketRow | None = None,
    clock: Mapping[str, Any] | None = None,
    clock_id: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One outbox event's row, to be stored by :func:`write` (with others of the same transaction)."""
    payload: dict[str, Any] = {
        "ticket": ticket_snapshot(ticket) if ticket is not None else None,
        "clock": dict(clock) if clock is not None else None,
    }
    payload.update(extra or {})
    return {
        "type": event_type,
        "source": ticket.source if ticket is not None else None,
        "ticket_key": ticket.key if ticket is not None else None,
        "clock_id": clock_id,
        "payload": payload,
        "created_at": now,
    }


def write(session: Session, events: Sequence[Mapping[str, Any]]) -> None:
    """Append ``events`` to the outbox in order, and queue a delivery for each subscription that wants
    one (held while the subscription is disabled). One statement per table, whatever the number of events."""
    if not events:
        return
    every = subscriptions(session)
    wanted = [
        (index, subscription)
        for index, row in enumerate(events)
        for subscription in every
        if wants(subscription, row["type"], row["payload"]["ticket"])
    ]
    if not wanted:
        # No delivery needs the events' ids: SQLite can then insert them all in one executemany
        # (it gives ordered RETURNING rows only one statement per row).
        session.execute(insert(OutboxEventRow), list(events))
        return
    returning = insert(OutboxEventRow).returning(OutboxEventRow.id, sort_by_parameter_order=True)
    ids = list(session.scalars(returning, list(events)))
    deliveries = [
        {
            "event_id": ids[index],
            "subscription_id": subscription.id,
            "event_type": events[index]["type"],
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": events[index]["created_at"],
            "created_at": events[index]["created_at"],
            "updated_at": events[index]["created_at"],
        }
        for index, subscription in wanted
    ]
    session.execute(insert(DeliveryRow), deliveries)


def prune(session: Session, before: datetime, limit: int = 1000) -> int:
    """Delete up to ``limit`` outbox events created before ``before``, with their deliveries and attempts.

    Events with a delivery still pending stay (whatever their age) until it is delivered or dead.
    """
    pending = exists().where(DeliveryRow.event_id == OutboxEventRow.id, DeliveryRow.status == "pending")
    query = select(OutboxEventRow.id).where(OutboxEventRow.created_at < before, ~pending)
    ids = list(session.scalars(query.order_by(OutboxEventRow.created_at).limit(limit)))
    if not ids:
        return 0
    # Attempts go with their deliveries (ON DELETE CASCADE).
    session.execute(delete(DeliveryRow).where(DeliveryRow.event_id.in_(ids)))
    session.execute(delete(OutboxEventRow).where(OutboxEventRow.id.in_(ids)))
    return len(ids)
