"""Inbound webhook receipts: what arrived in each delivery, when, and what it changed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from app.connections.models import WebhookReceiptRow
from app.core.db import insert_ignoring_conflicts
from app.ingestion.flow import IngestResult


def record(session: Session, deliveries: Sequence[tuple[tuple[str, str], IngestResult]], now: datetime) -> None:
    """One receipt per (connection, delivery id); the first one of a repeated delivery wins."""
    rows = [
        {
            "connection": connection,
            "delivery_id": delivery[:200],
            "received_at": now,
            "events_new": len(result.new),
            "events_duplicate": len(result.duplicate),
        }
        for (connection, delivery), result in deliveries
    ]
    if rows:
        session.execute(insert_ignoring_conflicts(session, WebhookReceiptRow), rows)
