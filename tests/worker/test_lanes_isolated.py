"""Slow I/O never delays timed work: an escalation level fires on time while the only webhook receiver
hangs and Jira takes 20 s to answer every write-back (each lane runs in a thread of its own)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.clock import system_now
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.escalations.models import FiredLevelRow
from app.main import create_app
from app.tickets.models import TicketRow
from app.worker.lanes import Workers
from tests.api.factories import apply, created
from tests.conftest import make_key
from tests.fakes.jira_server import FakeJira
from tests.fakes.loopback import serve_asgi
from tests.integrations.jira.fixtures import ENV, loopback_connection, payload, signed_headers
from tests.webhooks.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"receiver-secret-bytes!").decode()
TARGET = timedelta(hours=1)
POLICY = """
kind: policy
name: lanes
calendar: 24x7
match: {source: [jira, api]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment]}
targets:
  - {first_response: {target: 1h}}
escalations:
  - {metric: first_response, at: breach, actions: [{webhook: sla.breached}, {comment: "First response overdue"}]}
"""


def _wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def _fired(db: Database, source: str, key: str) -> list[FiredLevelRow]:
    with db.transaction(write=False) as session:
        ticket_ids = select(TicketRow.id).where(TicketRow.source == source, TicketRow.key == key)
        return list(session.scalars(select(FiredLevelRow).where(FiredLevelRow.ticket_id.in_(ticket_ids))))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    dead = Receiver(secret=SECRET, hang=True)
    yield dead
    dead.release.set()


@pytest.fixture
def slow_jira() -> Iterator[FakeJira]:
    fake = FakeJira(deployment="cloud", write_delay_seconds=20)
    fake.add_issue(payload("issue_created-mattermost-cloud.json")["issue"], [], [])
    yield fake
    fake.release.set()


def test_a_level_fires_on_time_while_the_receiver_hangs_and_jira_answers_after_20_s(
    db: Database,
    tmp_path: Path,
    receiver: Receiver,
    slow_jira: FakeJira,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLA_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
    get_settings.cache_clear()
    settings = Settings(env="test", data_dir=tmp_path, access_log=False, session_secret="x" * 40)
    headers = {"Authorization": f"Bearer {make_key(db, 'admin')}"}
    with (
        serve_asgi(receiver.app()) as receiver_base,
        serve_asgi(slow_jira.app) as jira_url,
        TestClient(create_app(settings, database=db, now=system_now, run_workers=False)) as client,
    ):
        apply(client, headers, POLICY + "\n---\n" + yaml.safe_dump(loopback_connection(jira_url)))
        body = {"url": receiver_base + "/hook", "event_types": ["sla.breached"], "secret": SECRET}
        assert client.post("/api/v1/webhooks", json=body, headers=headers).status_code == 201
        workers = Workers(db, system_now, interval=0.5)
        workers.start()
        try:
            # A Jira issue created long ago: its breach level fires at once, and its webhook and its
            # write-back go to the dead receiver and the slow Jira.
            raw = json.dumps(payload("issue_created-mattermost-cloud.json")).encode()
            response = client.post("/webhooks/jira/jira", content=raw, headers=signed_headers(raw))
            assert response.status_code == 200, response.text
            assert _wait_for(lambda: receiver.hung >= 1 and bool(slow_jira.calls("POST", "/comment")), 15)
            # Both slow lanes are now stuck on their calls. A ticket whose breach comes in 2 s:
            due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
            opened = created(key="FAST-1", at=(due - TARGET).isoformat().replace("+00:00", "Z"), priority="P3")
            assert client.post("/api/v1/events", json=opened, headers=headers).status_code == 200
            assert _wait_for(lambda: bool(_fired(db, "api", "FAST-1")), 9)
            (level,) = _fired(db, "api", "FAST-1")
            # It fired at its instant, while the receiver still hung and Jira had answered nothing.
            # (A clock is breached once its elapsed time exceeds the target: the first second after it.)
            assert level.instant == due + timedelta(seconds=1)
            assert level.fired_at >= level.instant
            assert receiver.requests == []
            assert slow_jira.answered_writes == 0
        finally:
            receiver.release.set()
            slow_jira.release.set()
            workers.stop()
    get_settings.cache_clear()
