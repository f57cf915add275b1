"""Three worker processes share thousands of due clocks; one is SIGKILLed mid-batch.

Every escalation level must fire exactly once (one ``fired_levels`` row and one outbox
event each) and every outbox event must reach the receiver at least once. On PostgreSQL the workers
share the work through ``FOR UPDATE SKIP LOCKED``; on SQLite they take turns on the single writer lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from app.clocks.models import ClockRow
from app.core.db import Database
from app.escalations.models import FiredLevelRow
from app.policies.models import PolicyVersionRow
from app.tickets import service as ticket_service
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketRow
from app.webhooks import service
from app.webhooks.models import DeliveryRow, OutboxEventRow
from app.webhooks.schemas import SubscriptionIn
from app.webhooks.urls import parse_networks
from tests.api.factories import apply, created
from tests.fakes.loopback import serve_asgi
from tests.webhooks.receiver import Receiver

TICKETS = 1000
LEVELS_PER_TICKET = 4  # 50% and breach, on first response and on resolution
LEVEL_TYPES = ("sla.warning", "sla.breached")
SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="  # base64 of "secret-secret-secret"
ROOT = Path(__file__).resolve().parents[2]

POLICY = """
kind: policy
name: load
calendar: 24x7
match: {source: [api]}
targets:
  - {first_response: {target: 30m}, resolution: {target: 1h}}
escalations:
  - {metric: any, at: 50%, actions: [{webhook: sla.warning}]}
  - {metric: any, at: breach, actions: [{webhook: sla.breached}]}
"""


def _seed(db: Database, opened: datetime) -> None:
    """Tickets with a ``created`` event and a stale resolution clock already due (no projection)."""
    events = [
        NormalizedEvent.model_validate(created(key=f"L-{n}", at=opened.isoformat().replace("+00:00", "Z")))
        for n in range(TICKETS)
    ]
    with db.transaction() as session:
        ticket_service.append(session, [events], opened)
        version = session.scalars(select(PolicyVersionRow)).one()
        query = select(TicketRow.key, TicketRow.id).where(TicketRow.source == "api")
        ids = {key: ticket_id for key, ticket_id in session.execute(query)}
        clocks: list[dict[str, object]] = [
            {
                "ticket_id": ticket_id,
                "policy_version_id": version.id,
                "policy": "load",
                "policy_version": version.version,
                "metric": "resolution",
                "cycle": 1,
                "state": "running",
                "breached": False,
                "met": None,
                "exempt": False,
                "target_seconds": 3600,
                "limit_seconds": 3600,
                "elapsed_seconds": 0,
                "started_at": opened,
                "calendar": "24x7",
                "source": "api",
                "ticket_key": key,
                "next_action_at": opened,
                "evaluated_at": opened,
                "detail": {},
            }
            for key, ticket_id in ids.items()
        ]
        session.execute(insert(ClockRow), clocks)


def _count(db: Database, query: object) -> int:
    with db.transaction(write=False) as session:
        return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def _spawn(url: str) -> subprocess.Popen[str]:
    env = {**os.environ, "SLA_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.escalations.worker_process", url],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def test_three_workers_one_killed_fire_each_level_once_and_deliver_everything(
    client: TestClient, db: Database, admin_headers: dict[str, str]
) -> None:
    apply(client, admin_headers, POLICY)
    receiver = Receiver(secret=SECRET)
    with serve_asgi(receiver.app()) as base:
        _subscribe(db, {"url": base + "/hook", "event_types": list(LEVEL_TYPES), "secret": SECRET})
        _seed(db, datetime.now(UTC) - timedelta(hours=2))

        url = db.engine.url.render_as_string(hide_password=False)
        workers = [_spawn(url) for _ in range(3)]
        try:
            deadline = time.monotonic() + 5
            while _count(db, select(func.count(FiredLevelRow.id))) == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            expected = TICKETS * LEVELS_PER_TICKET
            assert 0 < _count(db, select(func.count(FiredLevelRow.id))) < expected
            workers[0].send_signal(signal.SIGKILL)  # mid-batch: its transaction and leases are abandoned
            workers[0].wait()
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                fired = _count(db, select(func.count(FiredLevelRow.id)))
                undelivered = _count(db, select(func.count(DeliveryRow.id)).where(DeliveryRow.status != "delivered"))
                if fired == expected and undelivered == 0:
                    break
                time.sleep(0.2)
        finally:
            for worker in workers[1:]:
                worker.terminate()
                worker.wait(timeout=10)

    with db.transaction(write=False) as session:
        fired_keys = session.execute(select(FiredLevelRow.clock_id, FiredLevelRow.level_key)).all()
        level_events = list(session.scalars(select(OutboxEventRow.id).where(OutboxEventRow.type.in_(LEVEL_TYPES))))
        statuses = dict(session.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)).all())
    assert len(fired_keys) == len(set(fired_keys)) == TICKETS * LEVELS_PER_TICKET
    assert len(level_events) == TICKETS * LEVELS_PER_TICKET  # one outbox event per fired level
    assert statuses == {"delivered": TICKETS * LEVELS_PER_TICKET}
    assert receiver.distinct_delivered == {str(i) for i in level_events}
    assert receiver.bad_signatures == 0


def _subscribe(db: Database, body: dict[str, object]) -> None:
    """The loopback subscription, created through the service with loopback allowed."""
    with db.transaction() as session:
        service.create(session, SubscriptionIn.model_validate(body), parse_networks("127.0.0.0/8"), datetime.now(UTC))
