"""The worker sleeps no longer than until the next clock action, whatever its interval."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.clocks.models import ClockRow
from app.core.db import Database
from app.escalations.jobs import next_clock_action
from app.worker.runner import WAKE_MARGIN_S, Job, Worker
from tests.api.factories import created, setup_support
from tests.conftest import FakeClock

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _worker(*hints: object) -> Worker:
    named = {f"job-{n}": hint for n, hint in enumerate(hints)}
    return Worker(db=None, now=lambda: NOW, jobs=[], interval=5.0, hints=named)  # type: ignore[arg-type]


def test_idle_wait_is_the_interval_or_less_when_a_hint_comes_sooner() -> None:
    assert _worker().idle_wait() == 5.0
    assert _worker(lambda db, now: None).idle_wait() == 5.0
    assert _worker(lambda db, now: now + timedelta(seconds=2)).idle_wait() == 2.0 + WAKE_MARGIN_S
    assert _worker(lambda db, now: now + timedelta(hours=1)).idle_wait() == 5.0
    assert _worker(lambda db, now: now - timedelta(seconds=3)).idle_wait() == WAKE_MARGIN_S


def test_a_failing_hint_is_ignored() -> None:
    def broken(db: object, now: datetime) -> datetime:
        raise RuntimeError("database gone")

    assert _worker(broken, lambda db, now: now + timedelta(seconds=1)).idle_wait() == 1.0 + WAKE_MARGIN_S


def test_the_escalation_hint_is_the_earliest_clock_action_still_ahead(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    body = [created(key="T-1"), created(key="T-2", at="2025-01-06T09:30:00Z")]
    assert client.post("/api/v1/events", json=body, headers=admin_headers).status_code == 200
    with db.transaction(write=False) as session:
        actions = sorted(t for t in session.scalars(select(ClockRow.next_action_at)) if t is not None)
    assert len(actions) >= 2

    assert next_clock_action(db, actions[0] - timedelta(seconds=1)) == actions[0]
    assert next_clock_action(db, actions[0]) == min(t for t in actions if t > actions[0])
    assert next_clock_action(db, actions[-1]) is None


def test_a_hint_wakes_only_its_own_job() -> None:
    runs = {"hinted": 0, "other": 0}

    def counting(name: str) -> Job:
        def run(db: object, now: object) -> int:
            runs[name] += 1
            return 0

        return Job(name, run)  # type: ignore[arg-type]

    # The hint always says "now": the hinted job is woken again and again; the other one waits a minute.
    hints = {"hinted": lambda db, now: now}
    worker = Worker(db=None, now=lambda: NOW, jobs=[counting("hinted"), counting("other")], interval=60, hints=hints)  # type: ignore[arg-type]
    worker.start()
    deadline = time.monotonic() + 10
    while runs["hinted"] < 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.stop()
    assert runs["hinted"] >= 5
    assert runs["other"] == 1
