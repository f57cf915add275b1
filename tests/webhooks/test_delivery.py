"""The deliverer against a real receiver on loopback: signed, retried with backoff, dead-lettered,
redelivered, and a failing subscription disabled."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.db import Database
from app.webhooks import delivery, outbox
from app.webhooks.models import OutboxEventRow
from app.webhooks.urls import parse_networks
from tests.conftest import FakeClock
from tests.fakes.loopback import serve_asgi
from tests.webhooks.conftest import ALLOWED
from tests.webhooks.receiver import Receiver

Headers = dict[str, str]
SECRET = "whsec_" + base64.b64encode(b"receiver-secret-bytes!").decode()
NETWORKS = parse_networks(ALLOWED)
# Longer than the longest wait with the most jitter, so every scheduled retry is due.
LONGEST_WAIT = timedelta(seconds=delivery.RETRY_SCHEDULE[-1] * (1 + delivery.JITTER) + 1)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(secret=SECRET)


@pytest.fixture
def receiver_url(receiver: Receiver) -> Iterator[str]:
    with serve_asgi(receiver.app()) as base:
        yield base + "/hook"


def subscribe(client: TestClient, headers: Headers, url: str, types: list[str] | None = None) -> int:
    body = {"url": url, "event_types": types or ["sla.warning"], "secret": SECRET}
    response = client.post("/api/v1/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def emit(db: Database, clock: FakeClock, event_type: str = "sla.warning") -> int:
    with db.transaction() as session:
        outbox.write(session, [outbox.event(event_type, clock(), extra={"note": "test"})])
        return session.scalars(select(func.max(OutboxEventRow.id))).one()


def deliver(db: Database, clock: FakeClock) -> int:
    return delivery.deliver_due(db, clock, NETWORKS)


def test_failed_delivery_is_retried_with_the_same_id_then_delivered(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, receiver: Receiver, receiver_url: str
) -> None:
    receiver.script = [500]
    subscribe(client, admin_headers, receiver_url)
    event_id = emit(db, clock)
    assert deliver(db, clock) == 1
    [pending] = client.get("/api/v1/deliveries?status=pending", headers=admin_headers).json()["items"]
    assert pending["attempts"] == 1
    assert pending["last_status_code"] == 500
    assert deliver(db, clock) == 0  # the retry waits about 30 s
    clock.advance(seconds=delivery.RETRY_SCHEDULE[0] * (1 + delivery.JITTER) + 1)
    assert deliver(db, clock) == 1

    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert ids == [str(event_id), str(event_id)]
    assert receiver.distinct_delivered == {str(event_id)}
    assert receiver.bad_signatures == 0
    body = json.loads(receiver.requests[-1]["body"])
    assert body["id"] == str(event_id)
    assert body["type"] == "sla.warning"
    assert body["note"] == "test"
    assert receiver.requests[-1]["headers"]["webhook-timestamp"] == str(int(clock().timestamp()))

    detail = client.get(f"/api/v1/deliveries/{pending['id']}", headers=admin_headers).json()
    assert detail["status"] == "delivered"
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 200]
    assert detail["attempt_log"][0]["error"] == "HTTP 500"
    assert detail["attempt_log"][1]["response_excerpt"] == '{"ok":true}'
    assert detail["event"]["id"] == str(event_id)


def test_retry_schedule_backs_off_with_jitter_over_about_a_day() -> None:
    assert delivery.MAX_ATTEMPTS == 12
    assert 20 * 3600 <= sum(delivery.RETRY_SCHEDULE) <= 26 * 3600
    for attempts, base in enumerate(delivery.RETRY_SCHEDULE, start=1):
        waits = {delivery.retry_delay(attempts).total_seconds() for _ in range(20)}
        assert all(base * 0.8 <= w <= base * 1.2 for w in waits)
        assert len(waits) > 1


def test_dead_letter_after_the_last_attempt_then_redeliver(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, receiver: Receiver, receiver_url: str
) -> None:
    receiver.default = 503
    subscribe(client, admin_headers, receiver_url)
    emit(db, clock)
    for _ in range(delivery.MAX_ATTEMPTS):
        assert deliver(db, clock) == 1
        clock.advance(seconds=LONGEST_WAIT.total_seconds())
    assert deliver(db, clock) == 0
    [dead] = client.get("/api/v1/deliveries?status=dead", headers=admin_headers).json()["items"]
    assert dead["attempts"] == delivery.MAX_ATTEMPTS
    assert len(receiver.requests) == delivery.MAX_ATTEMPTS

    receiver.default = 204
    path = f"/api/v1/deliveries/{dead['id']}/redeliver"
    response = client.post(path, headers=admin_headers)
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert deliver(db, clock) == 1
    delivered = client.get(f"/api/v1/deliveries/{dead['id']}", headers=admin_headers).json()
    assert delivered["status"] == "delivered"
    assert len(receiver.distinct_delivered) == 1


def test_redeliver_needs_admin(client: TestClient, read_headers: Headers) -> None:
    assert client.post("/api/v1/deliveries/1/redeliver", headers=read_headers).status_code == 403
    assert client.get("/api/v1/deliveries/999", headers=read_headers).status_code == 404


def test_subscription_is_disabled_after_consecutive_dead_letters(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, receiver: Receiver, receiver_url: str
) -> None:
    receiver.default = 500
    subscription_id = subscribe(client, admin_headers, receiver_url)
    for _ in range(delivery.DISABLE_AFTER_DEAD_LETTERS):
        emit(db, clock)
    while deliver(db, clock):
        clock.advance(seconds=LONGEST_WAIT.total_seconds())
    shown = client.get(f"/api/v1/webhooks/{subscription_id}", headers=admin_headers).json()
    assert shown["enabled"] is False
    assert "3 deliveries in a row were dead-lettered" in shown["disabled_reason"]
    assert shown["failing_since"] is not None

    emit(db, clock)  # held for the disabled subscription, not sent
    assert deliver(db, clock) == 0
    assert len(client.get("/api/v1/deliveries?status=pending", headers=admin_headers).json()["items"]) == 1
    enabled = client.patch(f"/api/v1/webhooks/{subscription_id}", json={"enabled": True}, headers=admin_headers)
    assert enabled.json()["disabled_reason"] is None
    receiver.default = 200
    assert deliver(db, clock) == 1  # what it missed while disabled goes out once it is enabled again


def test_receiver_outside_allowed_networks_is_refused_at_delivery(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, receiver: Receiver, receiver_url: str
) -> None:
    subscribe(client, admin_headers, receiver_url)
    emit(db, clock)
    assert delivery.deliver_due(db, clock, []) == 1  # the worker's setting no longer lists loopback
    assert receiver.requests == []
    [item] = client.get("/api/v1/deliveries", headers=admin_headers).json()["items"]
    assert item["last_error"].startswith("refused: 127.0.0.1 is a private or loopback address")


def test_deliveries_filter_and_paginate(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, receiver_url: str
) -> None:
    subscribe(client, admin_headers, receiver_url, ["sla.warning", "sla.met"])
    for event_type in ("sla.warning", "sla.met", "sla.met", "sla.paused"):
        emit(db, clock, event_type)
    page = client.get("/api/v1/deliveries?limit=2", headers=admin_headers).json()
    assert len(page["items"]) == 2
    rest = client.get(f"/api/v1/deliveries?limit=2&cursor={page['next_cursor']}", headers=admin_headers).json()
    assert rest["next_cursor"] is None
    assert len(page["items"] + rest["items"]) == 3  # nobody subscribed to sla.paused
    met = client.get("/api/v1/deliveries?event_type=sla.met", headers=admin_headers).json()["items"]
    assert [d["event_type"] for d in met] == ["sla.met", "sla.met"]
