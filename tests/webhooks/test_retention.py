"""Outbox retention: old events go with their deliveries and attempts; pending deliveries keep theirs."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.core.db import Database
from app.webhooks.jobs import outbox_retention
from app.webhooks.models import DeliveryAttemptRow, DeliveryRow, OutboxEventRow
from tests.conftest import FakeClock, count_rows
from tests.webhooks.test_delivery import deliver, emit, receiver, receiver_url, subscribe

__all__ = ["receiver", "receiver_url"]  # fixtures, shared with the delivery tests

Headers = dict[str, str]


def test_old_events_are_pruned_with_their_deliveries_but_pending_ones_stay(
    client: TestClient, admin_headers: Headers, db: Database, clock: FakeClock, receiver_url: str
) -> None:
    subscribe(client, admin_headers, receiver_url)
    delivered = emit(db, clock)
    assert deliver(db, clock) == 1  # one real delivery, with its attempt row
    dead = emit(db, clock)
    pending = emit(db, clock)
    with db.transaction() as session:
        session.execute(update(DeliveryRow).where(DeliveryRow.event_id == dead).values(status="dead"))
    clock.advance(days=29)
    recent = emit(db, clock)
    assert count_rows(db, DeliveryAttemptRow.id) == 1

    assert outbox_retention(db, clock) == 0  # nothing is 30 days old yet
    clock.advance(days=2)
    assert outbox_retention(db, clock) == 2
    assert outbox_retention(db, clock) == 0

    with db.transaction(write=False) as session:
        events = set(session.scalars(select(OutboxEventRow.id)))
        deliveries = set(session.scalars(select(DeliveryRow.event_id)))
    assert events == {pending, recent}
    assert deliveries == {pending, recent}
    assert delivered not in events
    assert count_rows(db, DeliveryAttemptRow.id) == 0
