"""The sync poller: each connection is synced on its interval, or at once when asked."""

from __future__ import annotations

from app.connections import service
from app.core.clock import Now
from app.core.db import Database
from app.ingestion import sync


def poll_connections(db: Database, now: Now) -> int:
    """Sync every connection that is due, one at a time under a lease."""
    done = 0
    while (name := service.claim_due(db, now())) is not None:
        sync.run_sync(db, name, now)
        done += 1
    return done
