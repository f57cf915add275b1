"""Storing connections, and running a sync: pages of events committed before their cursor."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.connections.models import ConnectionRow
from app.connections.registry import adapter_for, parse_connection
from app.core.db import Database
from app.core.errors import NotFound
from app.core.ttlcache import TtlCache
from integrations.base import ConnectionSpec, TicketAdapter

log = logging.getLogger("sla_tracker.sync")
LEASE = timedelta(minutes=10)
# How long a process reuses a connection's adapter for inbound webhooks before reading the row again.
# Changes made through this process (apply, REST) apply at once; another process's after this long.
ADAPTER_TTL_SECONDS = 5.0
# Connection name -> (type, adapter).
_ADAPTERS: TtlCache[tuple[str, TicketAdapter]] = TtlCache(ADAPTER_TTL_SECONDS)


def find(session: Session, name: str) -> ConnectionRow | None:
    return session.scalar(select(ConnectionRow).where(ConnectionRow.name == name))


def get(session: Session, name: str) -> ConnectionRow:
    row = find(session, name)
    if row is None:
        raise NotFound(f"no connection named {name!r}")
    return row


def spec_of(row: ConnectionRow) -> ConnectionSpec:
    return parse_connection(row.spec)


def cached_webhook_adapter(db: Database, name: str) -> tuple[str, TicketAdapter] | None:
    """The connection's type and adapter if read less than ``ADAPTER_TTL_SECONDS`` ago (no I/O), else None."""
    return _ADAPTERS.get(db, name)


def webhook_adapter(db: Database, name: str) -> tuple[str, TicketAdapter] | None:
    """The connection's type and adapter (None: no such connection), reading its row at most every
    ``ADAPTER_TTL_SECONDS`` (webhooks arrive many times a second; a read transaction each was a fifth
    of their cost)."""
    hit = cached_webhook_adapter(db, name)
    if hit is not None:
        return hit
    with db.transaction(write=False) as session:
        row = find(session, name)
        if row is None:
            return None
        kind, spec = row.type, spec_of(row)
    return _ADAPTERS.put(db, name, (kind, adapter_for(spec)))


def forget_adapter(name: str) -> None:
    """Drop the cached webhook adapter of ``name`` (its connection was changed or deleted here)."""
    _ADAPTERS.forget(name)


def upsert(session: Session, spec: ConnectionSpec, now: datetime) -> tuple[str, ConnectionRow]:
    """Create or replace a connection: "created", "updated" or "unchanged"."""
    body = spec.model_dump(mode="json")
    row = find(session, spec.name)
    if row is None:
        row = ConnectionRow(name=spec.name, type=spec.type, spec=body, created_at=now, updated_at=now, next_sync_at=now)
        session.add(row)
        session.flush()
        return "created", row
    if row.spec == body:
        return "unchanged", row
    row.spec, row.type, row.updated_at = body, spec.type, now
    session.flush()
    forget_adapter(spec.name)
    return "updated", row


def list_all(session: Session) -> list[ConnectionRow]:
    return list(session.scalars(select(ConnectionRow).order_by(ConnectionRow.name)))


def delete(session: Session, name: str) -> None:
    session.delete(get(session, name))
    forget_adapter(name)
    session.flush()


def claim_due(db: Database, at: datetime) -> str | None:
    """Lease one connection whose poll is due (or was asked for), so one worker syncs it at a time."""
    with db.transaction() as session:
        query = (
            select(ConnectionRow)
            .where(
                or_(ConnectionRow.next_sync_at <= at, ConnectionRow.sync_requested_at.is_not(None)),
                or_(ConnectionRow.sync_lease_until.is_(None), ConnectionRow.sync_lease_until < at),
            )
            .order_by(ConnectionRow.next_sync_at)
            .limit(1)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        row = session.scalar(query)
        if row is None:
            return None
        row.sync_lease_until = at + LEASE
        return row.name


def status(row: ConnectionRow) -> dict[str, Any]:
    """The connection's sync state for the API."""
    return {
        "cursor": row.sync_cursor,
        "last_sync_at": row.last_sync_at,
        "last_sync_ok_at": row.last_sync_ok_at,
        "last_sync_error": row.last_sync_error,
        "next_sync_at": row.next_sync_at,
        "sync_requested_at": row.sync_requested_at,
    }
