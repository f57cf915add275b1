"""The deliverer: POST due deliveries, signed, and schedule retries, dead letters and disabling.

A batch is claimed in a short transaction that moves each delivery's
``next_attempt_at`` a lease ahead (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), then
posted with no transaction open, then each result is recorded in its own short
transaction. A worker that dies mid-batch leaves leases that simply expire:
deliveries are at least once, and receivers dedupe on ``webhook-id``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.clock import Now
from app.core.db import Database
from app.webhooks import signing
from app.webhooks.models import DeliveryAttemptRow, DeliveryRow, OutboxEventRow, SubscriptionRow
from app.webhooks.outbox import event_document
from app.webhooks.urls import IPNetwork, RefusedTarget, check_delivery_target

# Seconds to wait after failed attempt n (1-based); 12 attempts spread over about 22 hours.
RETRY_SCHEDULE = (30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 21600, 28800)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.2  # each wait is stretched or shrunk by up to 20%
DISABLE_AFTER_DEAD_LETTERS = 3
LEASE = timedelta(minutes=5)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Posts in flight at once: a receiver that hangs until TIMEOUT holds one of them, not the batch.
CONCURRENCY = 8
EXCERPT_CHARS = 1024
_random = random.Random()


@dataclass(frozen=True)
class Claimed:
    """What posting one delivery needs, read while it was claimed."""

    delivery_id: int
    message_id: str
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """One attempt's result, as logged in ``delivery_attempts``."""

    ok: bool
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None


def retry_delay(attempts: int) -> timedelta:
    """The wait after ``attempts`` failed attempts, with jitter."""
    base = RETRY_SCHEDULE[min(attempts, len(RETRY_SCHEDULE)) - 1]
    return timedelta(seconds=base * _random.uniform(1 - JITTER, 1 + JITTER))


def claim(db: Database, now: datetime, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of enabled subscriptions."""
    with db.transaction() as session:
        query = (
            select(DeliveryRow)
            .join(SubscriptionRow, SubscriptionRow.id == DeliveryRow.subscription_id)
            .where(
                DeliveryRow.status == "pending",
                DeliveryRow.next_attempt_at <= now,
                SubscriptionRow.enabled.is_(True),
            )
            .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
            .limit(limit)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True, of=DeliveryRow)
        rows = list(session.scalars(query))
        claimed = []
        for row in rows:
            row.next_attempt_at = now + LEASE
            event = session.get_one(OutboxEventRow, row.event_id)
            subscription = session.get_one(SubscriptionRow, row.subscription_id)
            body = json.dumps(event_document(event), separators=(",", ":"), default=str).encode()
            claimed.append(Claimed(row.id, str(event.id), subscription.url, subscription.secret, body))
        return claimed


def post(client: httpx.Client, item: Claimed, allowed: Sequence[IPNetwork], now: datetime) -> Outcome:
    """Sign and POST one delivery; 2xx is success, anything else (or no answer) a failure."""
    started = time.monotonic()
    try:
        check_delivery_target(item.url, allowed)
        headers = signing.headers(item.secret, item.message_id, int(now.timestamp()), item.body)
        response = client.post(item.url, content=item.body, headers=headers)
    except RefusedTarget as exc:
        return Outcome(False, None, 0, None, f"refused: {exc}")
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(False, None, elapsed, None, f"{type(exc).__name__}: {exc}"[:1000])
    elapsed = int((time.monotonic() - started) * 1000)
    ok = 200 <= response.status_code < 300
    error = None if ok else f"HTTP {response.status_code}"
    return Outcome(ok, response.status_code, elapsed, response.text[:EXCERPT_CHARS] or None, error)


def _disable_if_unhealthy(subscription: SubscriptionRow, now: datetime) -> None:
    if subscription.consecutive_dead >= DISABLE_AFTER_DEAD_LETTERS and subscription.enabled:
        subscription.enabled = False
        subscription.disabled_reason = (
            f"disabled automatically at {now.isoformat()}: {subscription.consecutive_dead} deliveries in a row "
            f"were dead-lettered after {MAX_ATTEMPTS} attempts each"
        )


def record(session: Session, delivery_id: int, outcome: Outcome, now: datetime) -> None:
    """Log the attempt and move the delivery on: delivered, retried later, or dead-lettered."""
    delivery = session.get_one(DeliveryRow, delivery_id)
    # Locked: deliveries of one subscription are recorded side by side, and its counters must add up.
    # FOR NO KEY UPDATE on PostgreSQL: a plain FOR UPDATE also blocks the key-share lock that every new
    # delivery row's foreign key takes on its subscription, so the escalation scanner, inserting the
    # deliveries of the levels it fires, would wait behind each delivery being recorded.
    subscription = session.get_one(SubscriptionRow, delivery.subscription_id, with_for_update={"key_share": True})
    session.add(
        DeliveryAttemptRow(
            delivery_id=delivery_id,
            attempted_at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
        )
    )
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.updated_at = now
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        subscription.failing_since, subscription.consecutive_dead = None, 0
        return
    subscription.failing_since = subscription.failing_since or now
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "dead", None
        subscription.consecutive_dead += 1
        _disable_if_unhealthy(subscription, now)
    else:
        delivery.next_attempt_at = now + retry_delay(delivery.attempts)


def deliver_due(
    db: Database, now: Now, allowed: Sequence[IPNetwork], *, limit: int = 50, client: httpx.Client | None = None
) -> int:
    """Claim, post and record one batch, ``CONCURRENCY`` posts at a time; how many were attempted."""
    claimed = claim(db, now(), limit)
    if not claimed:
        return 0
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)

    def deliver(item: Claimed) -> None:
        outcome = post(http, item, allowed, now())
        with db.transaction() as session:
            record(session, item.delivery_id, outcome, now())

    try:
        with ThreadPoolExecutor(min(CONCURRENCY, len(claimed)), thread_name_prefix="delivery") as pool:
            for future in [pool.submit(deliver, item) for item in claimed]:
                future.result()
    finally:
        if own:
            http.close()
    return len(claimed)
