"""The outbox and outbound webhooks: events, subscriptions, deliveries and their attempts.

Every side effect is an ``outbox_events`` row written in the transaction of the
state change that caused it; the same table feeds the
SSE stream. A delivery is one (event, subscription) pair, retried until a 2xx
or dead-lettered; each try is logged in ``delivery_attempts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base


class OutboxEventRow(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(100))
    ticket_key: Mapped[str | None] = mapped_column(String(200))
    # No foreign key: a clock row may be deleted by a replay, its history stays.
    clock_id: Mapped[int | None] = mapped_column()
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Indexed for the retention job (``outbox.prune``).
    created_at: Mapped[datetime] = mapped_column(index=True)


class SubscriptionRow(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    # The signing secret must be usable, so it is stored as given (``whsec_…``) and never returned.
    secret: Mapped[str] = mapped_column(String(200))
    filter: Mapped[dict[str, Any]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # Health: failing_since is the first failed attempt after the last 2xx.
    failing_since: Mapped[datetime | None]
    consecutive_dead: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    # pending → delivered | dead (redeliver puts either back to pending)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    # Lets the outbox queue deliveries before the event has an id (inserts batch at flush).
    event: Mapped[OutboxEventRow] = relationship(lazy="raise")


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    response_excerpt: Mapped[str | None] = mapped_column(String(1024))
    error: Mapped[str | None] = mapped_column(String(1000))
