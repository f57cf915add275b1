"""Worker jobs that keep the projection current without new events."""

from __future__ import annotations

from app.core.clock import Now
from app.core.db import Database
from app.ingestion import flow

BATCH = 10
# The name the ingestion writer pokes after storing events whose projection it deferred.
REPLAY_JOB = "replay-requested"


def replay_requested(db: Database, now: Now) -> int:
    """Replay tickets queued by deferred ingestion (webhooks), exclusion windows, calendar edits and
    policy migrations."""
    with db.transaction() as session:
        return flow.project_queued(session, now(), limit=BATCH)
