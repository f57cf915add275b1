"""Stored connection documents, their sync state, and received webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class ConnectionRow(Base):
    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(30))
    # The validated document: environment-variable NAMES for secrets, never the secrets.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Sync state: the cursor moves only after a page's events are committed.
    sync_cursor: Mapped[str | None] = mapped_column(String(64))
    sync_requested_at: Mapped[datetime | None]
    sync_lease_until: Mapped[datetime | None]
    last_sync_at: Mapped[datetime | None]
    last_sync_ok_at: Mapped[datetime | None]
    last_sync_error: Mapped[str | None] = mapped_column(String(2000))
    next_sync_at: Mapped[datetime | None]


class WebhookReceiptRow(Base):
    """One inbound webhook delivery, kept before any work so retries are recognised."""

    __tablename__ = "webhook_receipts"
    __table_args__ = (UniqueConstraint("connection", "delivery_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection: Mapped[str] = mapped_column(String(100))
    delivery_id: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[datetime]
    events_new: Mapped[int]
    events_duplicate: Mapped[int]
