"""Syncing a connection: fetch the source's changes a page at a time and ingest each page.

The adapter (``integrations``) turns the source's changes into normalized events; each page goes
through the same flow as every other entry point (``app.ingestion.flow``), committed with the
connection's cursor after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.connections import service as connection_service
from app.connections.registry import adapter_for
from app.core.clock import Now
from app.core.db import Database
from app.ingestion import flow
from integrations.base import PermanentError, RetryableError, TicketAdapter


@dataclass
class SyncReport:
    connection: str
    pages: int = 0
    fetched: int = 0
    new: int = 0
    duplicate: int = 0
    cursor: str | None = None
    error: str | None = None


Progress = Callable[[SyncReport], None]


def run_sync(
    db: Database,
    name: str,
    now: Now,
    *,
    since: datetime | None = None,
    full: bool = False,
    progress: Progress | None = None,
    adapter: TicketAdapter | None = None,
) -> SyncReport:
    """Fetch changes since the stored cursor (or ``since``; everything when ``full``), a page at a time.

    Each page's events and the cursor after them commit together, so a crash or a failing page
    never advances the cursor past events that were not stored.
    """
    with db.transaction(write=False) as session:
        row = connection_service.get(session, name)
        spec = connection_service.spec_of(row)
        stored = datetime.fromisoformat(row.sync_cursor) if row.sync_cursor else None
    start = None if full else (since or stored)
    adapter = adapter or adapter_for(spec)
    report = SyncReport(name, cursor=row.sync_cursor)
    try:
        for page in adapter.sync(start):
            with db.transaction() as session:
                (result,) = flow.ingest(session, [page.events], now())
                conn = connection_service.get(session, name)
                if page.cursor and (conn.sync_cursor is None or page.cursor > conn.sync_cursor):
                    conn.sync_cursor = page.cursor
                report.cursor = conn.sync_cursor
            report.pages += 1
            report.fetched += page.fetched or len(page.events)
            report.new += len(result.new)
            report.duplicate += len(result.duplicate)
            if progress:
                progress(report)
    except (RetryableError, PermanentError) as exc:
        report.error = f"{type(exc).__name__}: {exc}"
    _record_outcome(db, name, report, now())
    return report


def _record_outcome(db: Database, name: str, report: SyncReport, at: datetime) -> None:
    with db.transaction() as session:
        row = connection_service.get(session, name)
        spec = connection_service.spec_of(row)
        row.last_sync_at = at
        row.sync_lease_until = None
        row.sync_requested_at = None
        row.last_sync_error = report.error[:2000] if report.error else None
        if report.error is None:
            row.last_sync_ok_at = at
        row.next_sync_at = at + timedelta(seconds=spec.poll_interval_seconds)
