"""Write-back of escalation actions to the ticket's source, through its connection's adapter.

Firing a level only queues a ``writeback_tasks`` row (in the firing transaction); the writeback
lane applies it later and retries transient failures. The call to the source (Jira, ServiceNow)
runs with no transaction open: the connection's settings are read first in a short one, and the
outcome is recorded in another. Tasks of one batch run side by side (``CONCURRENCY``), so one slow
source holds back at most its own share. Tickets whose source has no connection (the generic
``api`` source) get webhook actions only: their write-back tasks are stored as skipped.
"""

from __future__ import annotations

import dataclasses
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.connections import service as connection_service
from app.connections.models import ConnectionRow
from app.connections.registry import TYPES, adapter_for
from app.core.clock import Now
from app.core.db import Database
from app.escalations.models import WriteBackTaskRow
from app.policies.spec import EscalationAction
from app.tickets.models import TicketRow
from integrations.base import PermanentError, RetryableError, WriteBackAction, WriteBackKind

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)
CONCURRENCY = 4
_jitter = random.Random()


def to_writeback(action: EscalationAction, ticket_key: str) -> WriteBackAction:
    """The adapter-facing form of a policy's write-back action."""
    kind = WriteBackKind(action.kind)
    return WriteBackAction(
        kind=kind,
        ticket_key=ticket_key,
        body=action.comment,
        public=bool(action.public),
        assignee=action.assign,
        priority=action.priority,
        labels=list(action.labels or []),
    )


def _from_stored(data: dict[str, Any]) -> WriteBackAction:
    return WriteBackAction(**{**data, "kind": WriteBackKind(data["kind"])})


def enqueue(
    session: Session,
    ticket: TicketRow,
    clock_id: int,
    level_key: str,
    action: EscalationAction,
    now: datetime,
    *,
    connections: dict[str, ConnectionRow | None] | None = None,
) -> WriteBackTaskRow:
    """Queue one write-back for ``ticket`` (skipped at once when its source cannot take write-backs).

    ``connections``: the caller's lookups of sources' connections, filled in here, so that a batch
    reads each source's connection once (and its queued tasks are flushed in one insert, since no
    query comes between them).
    """
    writeback = to_writeback(action, ticket.key)
    if connections is None:
        connection = connection_service.find(session, ticket.source)
    elif ticket.source in connections:
        connection = connections[ticket.source]
    else:
        connection = connections[ticket.source] = connection_service.find(session, ticket.source)
    kind = connection.type if connection is not None else None
    skipped = kind is None or kind not in TYPES
    reason = f"source {ticket.source!r} has no write-back adapter" if skipped else None
    task = WriteBackTaskRow(
        source=ticket.source,
        ticket_key=ticket.key,
        clock_id=clock_id,
        level_key=level_key,
        action={**dataclasses.asdict(writeback), "kind": writeback.kind.value},
        status="skipped" if skipped else "pending",
        attempts=0,
        next_attempt_at=None if skipped else now,
        last_error=reason,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    return task


def _claim(db: Database, now: datetime, limit: int) -> list[tuple[int, str, dict[str, Any]]]:
    with db.transaction() as session:
        query = (
            select(WriteBackTaskRow)
            .where(WriteBackTaskRow.status == "pending", WriteBackTaskRow.next_attempt_at <= now)
            .order_by(WriteBackTaskRow.next_attempt_at)
            .limit(limit)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        tasks = list(session.scalars(query))
        for task in tasks:
            task.next_attempt_at = now + LEASE  # a lease: a crashed worker's tasks come back
        return [(t.id, t.source, dict(t.action)) for t in tasks]


def _record(db: Database, task_id: int, now: datetime, error: Exception | None) -> None:
    with db.transaction() as session:
        task = session.get(WriteBackTaskRow, task_id)
        if task is None:
            return
        task.attempts += 1
        task.updated_at = now
        if error is None:
            task.status, task.next_attempt_at, task.last_error = "done", None, None
            return
        task.last_error = f"{type(error).__name__}: {error}"[:1000]
        if isinstance(error, RetryableError) and task.attempts < MAX_ATTEMPTS:
            delay = error.retry_after or 60 * 2**task.attempts * _jitter.uniform(0.8, 1.2)
            task.next_attempt_at = now + timedelta(seconds=delay)
        else:
            task.status, task.next_attempt_at = "failed", None


def apply(db: Database, source: str, action: WriteBackAction) -> None:
    """Apply ``action`` at ``source`` with its connection's adapter (raises Retryable/PermanentError)."""
    with db.transaction(write=False) as session:
        connection = connection_service.find(session, source)
        spec = None if connection is None else connection_service.spec_of(connection)
    if spec is None:
        raise PermanentError(f"source {source!r} has no write-back adapter")
    adapter_for(spec).write_back(action)


def _attempt(db: Database, now: Now, task_id: int, source: str, data: dict[str, Any]) -> None:
    error: Exception | None = None
    try:
        apply(db, source, _from_stored(data))
    except (RetryableError, PermanentError) as exc:
        error = exc
    except Exception as exc:  # an adapter bug: retried like a transient failure, and recorded
        error = RetryableError(f"{type(exc).__name__}: {exc}")
    _record(db, task_id, now(), error)


def run_due(db: Database, now: Now, limit: int = 50) -> int:
    """Apply queued write-backs that are due, ``CONCURRENCY`` at a time; how many were tried."""
    claimed = _claim(db, now(), limit)
    if claimed:
        with ThreadPoolExecutor(min(CONCURRENCY, len(claimed)), thread_name_prefix="writeback") as pool:
            for future in [pool.submit(_attempt, db, now, *task) for task in claimed]:
                future.result()
    return len(claimed)
