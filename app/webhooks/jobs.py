"""Worker job: deliver due outbound webhooks."""

from __future__ import annotations

from datetime import timedelta

from app.core.clock import Now
from app.core.config import get_settings
from app.core.db import Database
from app.webhooks import outbox
from app.webhooks.delivery import deliver_due
from app.webhooks.urls import parse_networks


def deliveries(db: Database, now: Now) -> int:
    """POST one batch of due deliveries (signed); retries and dead letters are scheduled as results come in."""
    return deliver_due(db, now, parse_networks(get_settings().webhook_allowed_networks))


def outbox_retention(db: Database, now: Now) -> int:
    """Delete outbound events older than ``SLA_OUTBOX_RETENTION_DAYS`` (a batch per pass)."""
    days = get_settings().outbox_retention_days
    if days == 0:
        return 0
    with db.transaction() as session:
        return outbox.prune(session, now() - timedelta(days=days))
