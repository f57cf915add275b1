"""A disabled subscription's deliveries are held, not dropped: re-enabling it sends each of them once."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from app.core.db import Database
from tests.conftest import FakeClock
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import deliver, emit, receiver, receiver_url, subscribe

__all__ = ["receiver", "receiver_url"]  # fixtures shared with test_delivery

Headers = dict[str, str]


def test_events_raised_while_disabled_are_sent_once_enabled(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, receiver: Receiver, receiver_url: str
) -> None:
    subscription_id = subscribe(client, admin_headers, receiver_url)
    paused = client.patch(
        f"/api/v1/webhooks/{subscription_id}",
        json={"enabled": False, "disabled_reason": "receiver maintenance"},
        headers=admin_headers,
    )
    assert paused.status_code == 200
    raised = []
    for _ in range(3):
        raised.append(str(emit(db, clock)))
        clock.advance(seconds=10)
    assert deliver(db, clock) == 0
    assert receiver.requests == []

    client.patch(f"/api/v1/webhooks/{subscription_id}", json={"enabled": True}, headers=admin_headers)
    while deliver(db, clock):
        pass
    # Claimed oldest first; the lane sends a batch concurrently, so arrival order is not asserted.
    assert sorted(json.loads(r["body"])["id"] for r in receiver.requests) == sorted(raised)
    assert len(receiver.requests) == len(raised)
