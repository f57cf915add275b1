"""Small helpers for escalation tests: a policy with every level kind, posting events, reading the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.db import Database
from app.escalations import jobs as escalation_jobs
from app.escalations.models import FiredLevelRow, WriteBackTaskRow
from app.webhooks.models import OutboxEventRow
from tests.api.factories import CALENDAR_YAML, apply, created, event
from tests.conftest import FakeClock

# eu-support: Mon-Fri 09:00-17:00 Europe/Berlin (UTC+1 in January). Resolution 8h, first response 1h.
ESCALATION_POLICY = """
kind: policy
name: esc
calendar: eu-support
match: {source: [api]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment], pause_when: {status_category: [waiting]}}
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}}
targets:
  - {first_response: {target: 1h}, resolution: {target: 8h}}
escalations:
  - {metric: resolution, at: 50%, actions: [{webhook: sla.warning}]}
  - {metric: resolution, at: 30m before, actions: [{webhook: sla.warning}, {comment: "Resolution due in 30 minutes"}]}
  - {metric: any, at: breach, actions: [{webhook: sla.breached}]}
  - {metric: resolution, at: 2h after, actions: [{webhook: sla.escalated}]}
  - {metric: resolution, at: 1h after, clock: wall, actions: [{webhook: sla.late}]}
"""


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def setup_policy(client: TestClient, headers: dict[str, str], policy: str = ESCALATION_POLICY) -> None:
    apply(client, headers, CALENDAR_YAML + "\n---\n" + policy)


def post(client: TestClient, headers: dict[str, str], clock: FakeClock, body: dict[str, Any]) -> None:
    """Post one event as if it arrived when it happened."""
    clock.set(max(clock.current, utc(body["at"])))
    response = client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 200, response.text


def open_ticket(client: TestClient, headers: dict[str, str], clock: FakeClock, *, key: str, at: str) -> None:
    post(client, headers, clock, created(key=key, at=at, priority="P3"))


def set_status(
    client: TestClient, headers: dict[str, str], clock: FakeClock, *, key: str, at: str, category: str, n: int
) -> None:
    body = event(key=key, id=f"{key}-s{n}", type="status_changed", at=at, to=category.title(), to_category=category)
    post(client, headers, clock, body)


def scan_until_idle(db: Database, clock: FakeClock) -> int:
    """Run the scanner until it finds nothing due; how many passes did work."""
    passes = 0
    while escalation_jobs.scan(db, clock):
        passes += 1
        assert passes < 50, "the scanner keeps finding due clocks"
    return passes


def run_at(db: Database, clock: FakeClock, instant: str) -> None:
    clock.set(utc(instant))
    scan_until_idle(db, clock)


def outbox(db: Database, *types: str) -> list[OutboxEventRow]:
    with db.transaction(write=False) as session:
        query = select(OutboxEventRow).order_by(OutboxEventRow.id)
        if types:
            query = query.where(OutboxEventRow.type.in_(types))
        return list(session.scalars(query))


def level_events(db: Database) -> list[tuple[str, str, str]]:
    """(type, metric, level) of every level event, in order."""
    return [
        (row.type, row.payload["clock"]["metric"], row.payload["level"]["at"])
        for row in outbox(db)
        if "level" in row.payload
    ]


def fired(db: Database) -> list[FiredLevelRow]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(FiredLevelRow).order_by(FiredLevelRow.id)))


def writebacks(db: Database) -> list[WriteBackTaskRow]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(WriteBackTaskRow).order_by(WriteBackTaskRow.id)))
