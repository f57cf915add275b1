"""Worker jobs that keep the projection current without new events."""

from __future__ import annotations

from app.core.clock import Now
from app.core.db import Database
from app.ingestion import flow
from app.worker.runner import register

BATCH = 10
# Also poked by the ingestion writer after storing events whose projection it deferred.
REPLAY_JOB = "replay-requested"


@register(REPLAY_JOB)
def replay_requested(db: Database, now: Now) -> int:
    """Replay tickets queued by deferred ingestion (webhooks), exclusion windows, calendar edits and
    policy migrations."""
    with db.transaction() as session:
        return flow.project_queued(session, now(), limit=BATCH)
