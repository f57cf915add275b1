"""A met clock emits exactly one ``sla.met``, whatever follows: more events, repairs, an exemption,
calendar edits that replay the ticket, and the same events again, duplicated and out of order.

The ``sla.met`` events are read through the public outbox reader, the live stream
(``GET /api/v1/stream``), served on loopback (the stream never ends: the heartbeat is set to
zero so a ``: ping`` marks the moment every stored event has been sent), and checked against the
``outbox_events`` table. Every test uses the ``db`` fixture, so it runs on SQLite and again on
PostgreSQL.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.stream import router as stream_router
from tests.api.factories import CALENDAR_YAML, apply, clocks_by_metric, created, event
from tests.conftest import FakeClock, project_queued
from tests.escalations.helpers import outbox, post, run_at, utc
from tests.fakes.loopback import serve_asgi

Headers = dict[str, str]
pytestmark = pytest.mark.db

# eu-support: Mon-Fri 09:00-17:00 Europe/Berlin (08:00-16:00Z in January). The P1 row gives the
# resolution clock another target, so a priority change really changes a clock of the ticket.
POLICY = """
kind: policy
name: met-once
calendar: eu-support
match: {source: [api]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment], pause_when: {status_category: [waiting]}}
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}}
targets:
  - {priority: P1, first_response: {target: 30m}, resolution: {target: 4h}}
  - {first_response: {target: 1h}, resolution: {target: 8h}}
escalations:
  - {metric: any, at: 50%, actions: [{webhook: sla.warning}]}
  - {metric: any, at: breach, actions: [{webhook: sla.breached}]}
"""
KEY = "M-1"
OPENED = "2025-01-06T08:00:00Z"  # Monday 09:00 Berlin
REPLIED = "2025-01-06T08:40:00Z"  # first response met: 40 minutes of 60
EXPECTED_MET = 1  # one met clock, one sla.met: the number every check below compares with


@pytest.fixture
def stream_url(db: Database, clock: FakeClock, settings: Settings) -> Iterator[str]:
    """The same app over a real socket, for the live stream (a ``TestClient`` would wait for its end)."""
    monkey = pytest.MonkeyPatch()
    monkey.setattr(stream_router, "POLL_SECONDS", 0.01)
    monkey.setattr(stream_router, "HEARTBEAT_SECONDS", 0.0)
    with serve_asgi(create_app(settings, database=db, now=clock, run_workers=False)) as base:
        yield base
    monkey.undo()


def streamed(base_url: str, headers: Headers, event_type: str) -> list[dict[str, Any]]:
    """Every stored outbox event of ``event_type``, as the stream sends them from the first one on."""
    params: dict[str, str | int] = {"last_event_id": 0, "type": event_type}
    bodies: list[dict[str, Any]] = []
    with (
        httpx.Client(base_url=base_url, headers=headers, timeout=httpx.Timeout(10.0)) as http,
        http.stream("GET", "/api/v1/stream", params=params) as response,
    ):
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith(":"):  # the heartbeat: the stream has caught up with the table
                return bodies
            if line.startswith("data: "):
                bodies.append(json.loads(line.removeprefix("data: ")))
    raise AssertionError("the stream ended before it caught up")


def met_ids(base_url: str, headers: Headers, db: Database, *, key: str, metric: str) -> list[str]:
    """Ids of the ``sla.met`` events of one ticket's metric, from the stream; the table must agree."""
    ids = [
        body["id"]
        for body in streamed(base_url, headers, "sla.met")
        if body["ticket"]["key"] == key and body["clock"]["metric"] == metric
    ]
    in_table = [
        str(row.id)
        for row in outbox(db, "sla.met")
        if row.ticket_key == key and row.payload["clock"]["metric"] == metric
    ]
    assert ids == in_table, "the stream and the outbox table disagree"
    return ids


def assert_met_once(base_url: str, headers: Headers, db: Database, metric: str = "first_response") -> None:
    ids = met_ids(base_url, headers, db, key=KEY, metric=metric)
    assert len(ids) == EXPECTED_MET, f"{metric}: {len(ids)} sla.met events {ids}"


def setup(client: TestClient, headers: Headers) -> None:
    apply(client, headers, CALENDAR_YAML + "\n---\n" + POLICY)


def opened(*, at: str = OPENED) -> dict[str, Any]:
    return created(key=KEY, at=at, priority="P3")


def reply(n: int, at: str, *, public: bool = True) -> dict[str, Any]:
    return event(key=KEY, id=f"{KEY}-reply-{n}", type="comment", at=at, author_role="agent", public=public)


def customer(n: int, at: str) -> dict[str, Any]:
    return event(key=KEY, id=f"{KEY}-cust-{n}", type="comment", at=at, author_role="customer", public=True)


def status(n: int, at: str, category: str) -> dict[str, Any]:
    return event(key=KEY, id=f"{KEY}-s{n}", type="status_changed", at=at, to=category.title(), to_category=category)


def priority(n: int, at: str, to: str) -> dict[str, Any]:
    return event(key=KEY, id=f"{KEY}-p{n}", type="priority_changed", at=at, to=to)


def post_batch(client: TestClient, headers: Headers, clock: FakeClock, bodies: list[dict[str, Any]]) -> Any:
    """Post several events in one request, arriving at the latest of their instants (or later)."""
    clock.set(max(clock.current, *(utc(b["at"]) for b in bodies)))
    response = client.post("/api/v1/events", json=bodies, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def clocks(client: TestClient, headers: Headers) -> dict[str, dict[str, Any]]:
    response = client.get(f"/api/v1/tickets/api/{KEY}", headers=headers)
    assert response.status_code == 200, response.text
    return clocks_by_metric(response.json())


def replay(client: TestClient, headers: Headers) -> dict[str, dict[str, Any]]:
    response = client.post(f"/api/v1/tickets/api/{KEY}/replay", headers=headers)
    assert response.status_code == 200, response.text
    return clocks_by_metric(response.json())


def met_first_response(
    client: TestClient, headers: Headers, clock: FakeClock, stream_url: str, db: Database
) -> dict[str, dict[str, Any]]:
    """Open the ticket and reply in time: first response met, resolution still running."""
    setup(client, headers)
    post(client, headers, clock, opened())
    post(client, headers, clock, reply(1, REPLIED))
    now = clocks(client, headers)
    assert now["first_response"]["met"] is True
    assert now["resolution"]["state"] == "running"
    assert_met_once(stream_url, headers, db)
    return now


def test_more_events_after_met_emit_no_second_met(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, stream_url: str
) -> None:
    met_first_response(client, admin_headers, clock, stream_url, db)
    follow_ups = [
        customer(1, "2025-01-06T09:00:00Z"),
        reply(2, "2025-01-06T09:10:00Z", public=False),
        reply(3, "2025-01-06T09:20:00Z"),  # another public reply: the stop trigger again
        status(1, "2025-01-06T09:30:00Z", "open"),
        status(2, "2025-01-06T10:00:00Z", "waiting"),
        status(3, "2025-01-06T11:00:00Z", "open"),
        priority(1, "2025-01-06T11:30:00Z", "P1"),  # resolution now 4h; first response (stopped) keeps its 1h
        event(key=KEY, id=f"{KEY}-a1", type="assignee_changed", at="2025-01-06T11:35:00Z", to="agent-7"),
        event(key=KEY, id=f"{KEY}-f1", type="field_changed", at="2025-01-06T11:40:00Z", field="team", value="L2"),
    ]
    for body in follow_ups:
        post(client, admin_headers, clock, body)
        assert_met_once(stream_url, admin_headers, db)
    assert clocks(client, admin_headers)["resolution"]["priority"] == "P1"

    # Resolution met too (2h45m of 4h: 08:00-11:45Z less the hour waiting), then more of everything.
    post(client, admin_headers, clock, status(4, "2025-01-06T11:45:00Z", "resolved"))
    assert clocks(client, admin_headers)["resolution"]["met"] is True
    after_resolution = [
        customer(2, "2025-01-06T12:00:00Z"),
        reply(4, "2025-01-06T12:10:00Z"),
        status(5, "2025-01-06T13:00:00Z", "closed"),
        priority(2, "2025-01-06T13:30:00Z", "P3"),
    ]
    for body in after_resolution:
        post(client, admin_headers, clock, body)
    run_at(db, clock, "2025-01-08T12:00:00Z")  # the scanner, days later
    for metric in ("first_response", "resolution"):
        assert_met_once(stream_url, admin_headers, db, metric)
    assert {m: c["met"] for m, c in clocks(client, admin_headers).items()} == {
        "first_response": True,
        "resolution": True,
    }


def test_replay_of_a_met_clock_emits_no_second_met(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, stream_url: str
) -> None:
    met_first_response(client, admin_headers, clock, stream_url, db)
    for _ in range(3):
        clock.advance(minutes=5)
        assert replay(client, admin_headers)["first_response"]["met"] is True
        assert_met_once(stream_url, admin_headers, db)
    post(client, admin_headers, clock, customer(1, "2025-01-06T09:30:00Z"))
    post(client, admin_headers, clock, status(1, "2025-01-06T10:00:00Z", "resolved"))
    assert_met_once(stream_url, admin_headers, db, "resolution")
    for _ in range(2):
        clock.advance(hours=1)
        replayed = replay(client, admin_headers)
        assert (replayed["first_response"]["met"], replayed["resolution"]["met"]) == (True, True)
    for metric in ("first_response", "resolution"):
        assert_met_once(stream_url, admin_headers, db, metric)


def test_exempting_a_met_clock_emits_no_second_met(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, stream_url: str
) -> None:
    met_first_response(client, admin_headers, clock, stream_url, db)
    clock.advance(minutes=10)
    body = {"metric": "first_response", "cycle": 1, "reason": "customer asked us to wait for their call"}
    response = client.post(f"/api/v1/tickets/api/{KEY}/exemptions", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    now = clocks(client, admin_headers)
    assert (now["first_response"]["exempt"], now["first_response"]["met"]) == (True, True)
    assert_met_once(stream_url, admin_headers, db)
    # What comes after the exemption re-derives the exempt clock again.
    post(client, admin_headers, clock, customer(1, "2025-01-06T09:30:00Z"))
    replay(client, admin_headers)
    assert clocks(client, admin_headers)["first_response"]["exempt"] is True
    assert_met_once(stream_url, admin_headers, db)


def test_calendar_edits_that_replay_the_ticket_emit_no_second_met(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, stream_url: str
) -> None:
    before = met_first_response(client, admin_headers, clock, stream_url, db)
    assert before["first_response"]["elapsed_seconds"] == 40 * 60
    original = yaml.safe_load(CALENDAR_YAML)
    # Opening an hour later: the ticket came in before opening, the reply still in time (0 of 60 minutes).
    later = {**original, "hours": {day: ["10:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}}
    for n, calendar in enumerate([later, original, later], start=1):
        clock.advance(minutes=10)
        response = client.put("/api/v1/calendars/eu-support", json=calendar, headers=admin_headers)
        assert response.status_code == 200, response.text
        # The open resolution clock queues the ticket; the worker's job replays it.
        assert project_queued(db, clock) == 1, f"edit {n}: the ticket was not replayed"
        now = clocks(client, admin_headers)
        assert now["first_response"]["met"] is True
        expected_elapsed = 0 if calendar is later else 40 * 60
        assert now["first_response"]["elapsed_seconds"] == expected_elapsed, "the edit did not reach the met clock"
        assert_met_once(stream_url, admin_headers, db)


def test_duplicate_and_out_of_order_events_emit_one_met(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers, stream_url: str
) -> None:
    setup(client, admin_headers)
    # The reply comes before the ticket's created event: held until it arrives.
    post(client, admin_headers, clock, reply(1, REPLIED))
    assert met_ids(stream_url, admin_headers, db, key=KEY, metric="first_response") == []
    post(client, admin_headers, clock, opened())
    assert clocks(client, admin_headers)["first_response"]["met"] is True
    assert_met_once(stream_url, admin_headers, db)

    for body in (reply(1, REPLIED), opened()):  # delivered again, a while later
        clock.advance(minutes=1)
        post(client, admin_headers, clock, body)
        assert_met_once(stream_url, admin_headers, db)

    # Late events from before the reply: the ticket is replayed from its whole log.
    post(client, admin_headers, clock, customer(1, "2025-01-06T08:20:00Z"))
    post(client, admin_headers, clock, reply(2, "2025-01-06T08:30:00Z"))  # an earlier reply: met earlier
    assert clocks(client, admin_headers)["first_response"]["stopped_at"] == "2025-01-06T08:30:00Z"
    assert_met_once(stream_url, admin_headers, db)

    # Later events in a shuffled batch, with duplicates inside it; the resolution is met there.
    later = [
        status(1, "2025-01-06T09:00:00Z", "waiting"),
        status(2, "2025-01-06T09:30:00Z", "open"),
        customer(2, "2025-01-06T09:40:00Z"),
        status(3, "2025-01-06T10:00:00Z", "resolved"),
        reply(3, "2025-01-06T10:05:00Z"),
    ]
    shuffled = [*later, later[3], later[0]]
    random.Random(7).shuffle(shuffled)
    assert post_batch(client, admin_headers, clock, shuffled)["accepted"] == len(later)
    assert clocks(client, admin_headers)["resolution"]["met"] is True

    # Everything once more, newest first and then in random order; and a late event before the resolution.
    history = [opened(), customer(1, "2025-01-06T08:20:00Z"), reply(2, "2025-01-06T08:30:00Z"), reply(1, REPLIED)]
    history += later
    for order in (history[::-1], random.Random(11).sample(history, len(history))):
        clock.advance(minutes=1)
        outcome = post_batch(client, admin_headers, clock, order)
        for metric in ("first_response", "resolution"):
            assert_met_once(stream_url, admin_headers, db, metric)
        assert (outcome["accepted"], outcome["duplicates"]) == (0, len(history))
    post(client, admin_headers, clock, reply(4, "2025-01-06T09:50:00Z", public=False))
    run_at(db, clock, "2025-01-08T12:00:00Z")
    for metric in ("first_response", "resolution"):
        assert_met_once(stream_url, admin_headers, db, metric)
