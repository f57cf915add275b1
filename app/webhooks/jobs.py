"""Worker job: deliver due outbound webhooks."""

from __future__ import annotations

from app.core.clock import Now
from app.core.config import get_settings
from app.core.db import Database
from app.webhooks.delivery import deliver_due
from app.webhooks.urls import parse_networks
from app.worker.runner import register


@register("deliveries")
def deliveries(db: Database, now: Now) -> int:
    """POST one batch of due deliveries (signed); retries and dead letters are scheduled as results come in."""
    return deliver_due(db, now, parse_networks(get_settings().webhook_allowed_networks))
