"""Worker jobs: the escalation scanner and the write-back runner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.clocks.models import ClockRow
from app.core.clock import Now
from app.core.db import Database
from app.escalations import writeback
from app.ingestion import flow

BATCH = 100


def scan(db: Database, now: Now) -> int:
    """Re-project tickets with a clock whose ``next_action_at`` has come; the reactions fire due levels.

    PostgreSQL: each worker locks its batch of tickets with ``FOR UPDATE SKIP LOCKED``, so workers
    share the backlog without waiting on each other. SQLite: the write transaction is ``BEGIN
    IMMEDIATE``, so there is one writer at a time. Either way ``fired_levels`` makes firing exactly-once.
    """
    with db.transaction() as session:
        return flow.project_due(session, now(), BATCH, skip_locked=not db.is_sqlite)


def next_clock_action(db: Database, now: datetime) -> datetime | None:
    """When the scanner next has work: the earliest ``next_action_at`` still ahead (an index range read)."""
    with db.transaction(write=False) as session:
        return session.scalar(select(func.min(ClockRow.next_action_at)).where(ClockRow.next_action_at > now))


def writebacks(db: Database, now: Now) -> int:
    """Apply queued write-backs (comments, assignments, priority, labels) at the sources."""
    return writeback.run_due(db, now)
