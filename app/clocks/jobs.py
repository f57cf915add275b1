"""Worker jobs that keep the projection current without new events."""

from __future__ import annotations

from app.core.clock import Now
from app.core.db import Database
from app.tickets import service as ticket_service
from app.worker.runner import register

BATCH = 200


@register("replay-requested")
def replay_requested(db: Database, now: Now) -> int:
    """Replay tickets queued by exclusion windows, calendar edits and policy migrations."""
    with db.transaction() as session:
        return ticket_service.replay_requested(session, now(), limit=BATCH)
