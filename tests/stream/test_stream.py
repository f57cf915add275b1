"""``GET /api/v1/stream``: SSE over a real socket, resuming with Last-Event-ID, with heartbeats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.stream import router as stream_router
from app.webhooks import outbox
from app.webhooks.models import OutboxEventRow
from tests.api.factories import created, setup_support
from tests.conftest import FakeClock
from tests.fakes.loopback import serve_asgi

Headers = dict[str, str]
TIMEOUT = httpx.Timeout(10.0)


@pytest.fixture
def base_url(db: Database, clock: FakeClock, settings: Settings) -> Iterator[str]:
    monkey = pytest.MonkeyPatch()
    monkey.setattr(stream_router, "POLL_SECONDS", 0.05)
    with serve_asgi(create_app(settings, database=db, now=clock, run_workers=False)) as base:
        yield base
    monkey.undo()


def read_events(lines: Iterator[str], count: int, *, comments: list[str] | None = None) -> list[dict[str, Any]]:
    """Parse SSE messages off the stream's lines until ``count`` events arrived (comments go to ``comments``)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if line.startswith(":") and comments is not None:
            comments.append(line)
            if count == 0:
                return events
        elif line == "":
            if "event" in current:
                events.append(current)
                if len(events) == count:
                    return events
            current = {}
        else:
            name, _, value = line.partition(": ")
            current[name] = json.loads(value) if name == "data" else value
    raise AssertionError("stream ended early")


def emit(db: Database, clock: FakeClock, event_type: str) -> int:
    with db.transaction() as session:
        outbox.write(session, [outbox.event(event_type, clock())])
        return session.scalars(select(func.max(OutboxEventRow.id))).one()


def test_stream_resumes_after_last_event_id_by_query_and_header(
    base_url: str, db: Database, clock: FakeClock, read_headers: Headers
) -> None:
    ids = [emit(db, clock, t) for t in ("sla.warning", "sla.breached", "sla.met")]
    with httpx.Client(base_url=base_url, headers=read_headers, timeout=TIMEOUT) as http:
        with http.stream("GET", f"/api/v1/stream?last_event_id={ids[0]}") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            got = read_events(response.iter_lines(), 2)
        assert [(e["id"], e["event"]) for e in got] == [(str(ids[1]), "sla.breached"), (str(ids[2]), "sla.met")]
        assert got[0]["data"]["type"] == "sla.breached"
        assert got[0]["data"]["id"] == str(ids[1])

        with http.stream("GET", "/api/v1/stream", headers={"Last-Event-ID": str(ids[1])}) as response:
            assert [e["id"] for e in read_events(response.iter_lines(), 1)] == [str(ids[2])]


def test_fresh_stream_starts_with_the_next_event(
    base_url: str, db: Database, clock: FakeClock, read_headers: Headers
) -> None:
    emit(db, clock, "sla.warning")
    with (
        httpx.Client(base_url=base_url, headers=read_headers, timeout=TIMEOUT) as http,
        http.stream("GET", "/api/v1/stream") as response,
    ):
        lines = response.iter_lines()
        assert next(lines) == "retry: 3000"
        new_id = emit(db, clock, "sla.paused")
        [event] = read_events(lines, 1)
    assert (event["id"], event["event"]) == (str(new_id), "sla.paused")


def test_stream_carries_ticket_snapshot_and_clock(
    base_url: str, client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_support(client, admin_headers)
    with (
        httpx.Client(base_url=base_url, headers=admin_headers, timeout=TIMEOUT) as http,
        http.stream("GET", "/api/v1/stream?type=ticket.updated&last_event_id=0") as response,
    ):
        assert client.post("/api/v1/events", json=created(key="S-1"), headers=admin_headers).status_code == 200
        events = read_events(response.iter_lines(), 2)
    clocks = {e["data"]["clock"]["metric"]: e["data"] for e in events}
    resolution = clocks["resolution"]
    assert resolution["type"] == "ticket.updated"
    assert resolution["ticket"]["source"] == "api"
    assert resolution["ticket"]["key"] == "S-1"
    assert resolution["ticket"]["priority"] == "P1"
    assert resolution["clock"]["state"] == "running"
    assert resolution["clock"]["cycle"] == 1
    assert resolution["clock"]["remaining_seconds"] == 8 * 3600
    assert resolution["clock"]["due_at"] is not None


def test_idle_stream_sends_heartbeats(base_url: str, read_headers: Headers, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_router, "HEARTBEAT_SECONDS", 0.05)
    comments: list[str] = []
    with (
        httpx.Client(base_url=base_url, headers=read_headers, timeout=TIMEOUT) as http,
        http.stream("GET", "/api/v1/stream") as response,
    ):
        read_events(response.iter_lines(), 0, comments=comments)
    assert comments == [": ping"]


def test_stream_needs_a_key_and_a_numeric_last_event_id(client: TestClient, read_headers: Headers) -> None:
    assert client.get("/api/v1/stream").status_code == 401
    bad = client.get("/api/v1/stream", headers={**read_headers, "Last-Event-ID": "abc"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "Last-Event-ID"
