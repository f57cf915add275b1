"""Write-back tasks: retried on RetryableError, failed on PermanentError (the source call itself is
``writeback.apply``, exercised against the Jira and ServiceNow fakes in tests/api/test_escalation_writeback.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from app.connections.models import ConnectionRow
from app.core.db import Database
from app.escalations import writeback
from app.policies.spec import EscalationAction
from app.tickets.models import TicketRow
from integrations.base import PermanentError, RetryableError, WriteBackAction, WriteBackKind
from tests.conftest import FakeClock
from tests.escalations.helpers import writebacks


@dataclass
class FakeAdapter:
    """Stands in for ``writeback.apply``: raises the scripted outcomes in turn (None: success)."""

    outcomes: list[Exception | None] = field(default_factory=list)
    calls: list[tuple[str, WriteBackAction]] = field(default_factory=list)

    def __call__(self, db: Database, connection: str, action: WriteBackAction) -> None:
        self.calls.append((connection, action))
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome is not None:
            raise outcome


@pytest.fixture
def adapter(monkeypatch: pytest.MonkeyPatch) -> FakeAdapter:
    fake = FakeAdapter()
    monkeypatch.setattr(writeback, "apply", fake)
    return fake


def _queue(db: Database, clock: FakeClock, action: EscalationAction) -> None:
    with db.transaction() as session:
        now = clock()
        session.add(ConnectionRow(name="acme", type="jira", spec={}, created_at=now, updated_at=now))
        session.flush()
        writeback.enqueue(session, TicketRow(source="acme", key="A-1"), 1, "0:any:breach:business", action, now)


def test_retryable_then_done(db: Database, clock: FakeClock, adapter: FakeAdapter) -> None:
    adapter.outcomes = [RetryableError("429", retry_after=60), None]
    _queue(db, clock, EscalationAction(comment="Escalated", public=True))
    assert writeback.run_due(db, clock) == 1
    [task] = writebacks(db)
    assert (task.status, task.attempts, task.last_error) == ("pending", 1, "RetryableError: 429")
    assert task.next_attempt_at == clock() + timedelta(seconds=60)
    assert writeback.run_due(db, clock) == 0
    clock.advance(seconds=61)
    assert writeback.run_due(db, clock) == 1
    [task] = writebacks(db)
    assert (task.status, task.attempts) == ("done", 2)
    connection, action = adapter.calls[-1]
    assert connection == "acme"
    assert action == WriteBackAction(kind=WriteBackKind.comment, ticket_key="A-1", body="Escalated", public=True)


def test_permanent_error_fails_without_retry(db: Database, clock: FakeClock, adapter: FakeAdapter) -> None:
    adapter.outcomes = [PermanentError("gone", status=404)]
    _queue(db, clock, EscalationAction(priority="raise"))
    for _ in range(3):
        writeback.run_due(db, clock)
        clock.advance(hours=1)
    [task] = writebacks(db)
    assert task.status == "failed"
    assert task.last_error == "PermanentError: gone"
    assert [a.priority for _, a in adapter.calls] == ["raise"]
