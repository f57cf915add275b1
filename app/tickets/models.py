"""Tickets (current snapshot) and the append-only log of normalized events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("source", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str | None] = mapped_column(String(200))
    status_category: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(300))
    project: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(2000))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Instant of the source's ``created`` event; None while only later events have arrived.
    opened_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(default=False)
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"), index=True)
    updated_at: Mapped[datetime]
    # Set when something outside the ticket's own events changed (an exclusion window, a calendar,
    # a policy migration): the worker replays these tickets in batches.
    replay_requested_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set aside after a failed projection (``app.tickets.failures``): what went wrong, how many attempts
    # in a row failed, and when the clocks lane tries again. Cleared by the next projection that works.
    projection_error: Mapped[str | None] = mapped_column(String(1000))
    projection_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    projection_retry_at: Mapped[datetime | None] = mapped_column(index=True)


class TicketEventRow(Base):
    """One normalized event as received; unique per (source, key, source event id), never updated."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("source", "key", "event_id"),
        # The projection reads a ticket's events after the last one its stored fold has seen.
        Index("ix_ticket_events_ticket_id_id", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    source: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
