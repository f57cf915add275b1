"""The ingestion writer: several requests in one transaction, each with its own answer (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clocks.models import ClockRow
from app.core.db import Database
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketEventRow, TicketRow
from app.tickets.service import IngestResult
from app.tickets.writer import IngestRequest, IngestWriter
from tests.api.factories import created, event, setup_support
from tests.conftest import FakeClock, count_rows, project_queued


def _events(*bodies: dict[str, Any]) -> list[NormalizedEvent]:
    return [NormalizedEvent.model_validate(b) for b in bodies]


def _writer(client: TestClient) -> IngestWriter:
    writer: IngestWriter = client.app.state.ingest_writer  # type: ignore[attr-defined]
    return writer


def test_one_transaction_for_several_requests_each_with_its_answer(
    client: TestClient, admin_headers: dict[str, str], db: Database
) -> None:
    setup_support(client, admin_headers)
    comment = event(id="c1", type="comment", at="2025-01-06T09:20:00Z", author_role="agent", public=True)
    batch = [
        IngestRequest(_events(created(key="T-1"), comment)),
        IngestRequest(_events(created(key="T-2"))),
        IngestRequest(_events(created(key="T-1"), created(key="T-3"))),  # T-1's created again: duplicate
    ]
    commits: list[object] = []

    def count_commit(connection: object) -> None:
        commits.append(connection)

    sa_event.listen(db.engine, "commit", count_commit)
    try:
        _writer(client).write_batch(batch)
    finally:
        sa_event.remove(db.engine, "commit", count_commit)

    results: list[IngestResult] = [r.future.result(timeout=5) for r in batch]
    assert [(len(r.new), len(r.duplicate)) for r in results] == [(2, 0), (1, 0), (1, 1)]
    assert [p.ticket.key for p in results[2].projections] == ["T-3"]
    assert len(commits) == 1
    assert count_rows(db, TicketEventRow.id) == 4
    # Every ticket projected: first_response and resolution clocks for T-1, T-2 and T-3.
    assert count_rows(db, ClockRow.id) == 6


def test_a_failing_request_fails_alone_and_leaves_nothing(
    client: TestClient, admin_headers: dict[str, str], db: Database
) -> None:
    setup_support(client, admin_headers)

    def refuse(session: Session, items: Sequence[tuple[Any, IngestResult]], now: datetime) -> list[Any]:
        raise RuntimeError("receipt could not be written")

    good = IngestRequest(_events(created(key="T-1")))
    bad = IngestRequest(_events(created(key="T-2")), after=refuse)
    later = IngestRequest(_events(created(key="T-3")))
    _writer(client).write_batch([good, bad, later])

    assert len(good.future.result(timeout=5).new) == 1
    assert len(later.future.result(timeout=5).new) == 1
    with pytest.raises(RuntimeError, match="receipt could not be written"):
        bad.future.result(timeout=5)
    with db.transaction(write=False) as session:
        keys = set(session.scalars(select(TicketEventRow.key)))
    assert keys == {"T-1", "T-3"}


def test_concurrent_posts_of_one_event_accept_it_once(
    client: TestClient, admin_headers: dict[str, str], db: Database
) -> None:
    setup_support(client, admin_headers)
    tickets = [created(key=f"T-{n}") for n in range(12)]
    bodies = tickets + tickets[:6] * 3  # each of the first six tickets' event four times in all

    def post(body: dict[str, Any]) -> dict[str, Any]:
        response = client.post("/api/v1/events", json=body, headers=admin_headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, bodies))

    assert sum(a["accepted"] for a in answers) == 12
    assert sum(a["duplicates"] for a in answers) == 18
    assert count_rows(db, TicketEventRow.id) == 12
    assert count_rows(db, ClockRow.id) == 24


def test_the_writer_thread_stops_with_the_app_and_restarts_on_use(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    setup_support(client, admin_headers)
    writer = _writer(client)
    assert client.post("/api/v1/events", json=created(key="T-1"), headers=admin_headers).status_code == 200
    writer.stop()
    response = client.post("/api/v1/events", json=created(key="T-2"), headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_a_request_cancelled_before_its_turn_is_not_written(
    client: TestClient, admin_headers: dict[str, str], db: Database
) -> None:
    setup_support(client, admin_headers)
    writer = IngestWriter(db, FakeClock())
    kept = IngestRequest(_events(created(key="T-1")))
    dropped = IngestRequest(_events(created(key="T-2")))
    assert dropped.future.cancel()
    for item in (kept, dropped, None):  # None: the stop signal, so the loop returns after this batch
        writer._queue.put(item)
    writer._run()

    assert len(kept.future.result(timeout=5).new) == 1
    assert dropped.future.cancelled()
    with db.transaction(write=False) as session:
        assert set(session.scalars(select(TicketEventRow.key))) == {"T-1"}


def test_deferred_requests_log_their_events_and_queue_the_tickets_for_the_worker(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    comment = event(key="T-2", id="c1", type="comment", at="2025-01-06T09:20:00Z", author_role="agent", public=True)
    batch = [
        IngestRequest(_events(created(key="T-1")), deferred=True),
        IngestRequest(_events(created(key="T-2")), deferred=True),
        IngestRequest(_events(comment)),  # T-2 gets projected here anyway, so it is not queued
    ]
    IngestWriter(db, clock).write_batch(batch)

    results: list[IngestResult] = [r.future.result(timeout=5) for r in batch]
    assert [len(r.new) for r in results] == [1, 1, 1]
    assert [r.projections for r in results[:2]] == [[], []]
    assert [p.ticket.key for p in results[2].projections] == ["T-2"]
    with db.transaction(write=False) as session:
        queued = {k: at for k, at in session.execute(select(TicketRow.key, TicketRow.replay_requested_at))}
        clocked = set(session.scalars(select(ClockRow.ticket_key)))
    assert queued == {"T-1": clock.current, "T-2": None}
    assert clocked == {"T-2"}

    assert project_queued(db, clock) == 1
    assert count_rows(db, ClockRow.id) == 4


def test_after_a_shared_transaction_the_writer_waits_for_more_requests_to_join_the_next(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    batches: list[list[str]] = []
    waits: list[float] = []
    joining: list[IngestRequest] = []

    class Recording(IngestWriter):
        def write_batch(self, batch: list[IngestRequest]) -> None:
            batches.append([e.key for r in batch for e in r.events])
            super().write_batch(batch)

    def sleep(seconds: float) -> None:  # stands in for the event loop handing over requests meanwhile
        waits.append(seconds)
        for request in joining:
            writer._queue.put(request)
        joining.clear()

    def run(*keys: str, join: tuple[str, ...] = ()) -> None:
        requests = [IngestRequest(_events(created(key=k))) for k in keys]
        joining.extend(IngestRequest(_events(created(key=k))) for k in join)
        for request in requests:
            writer._queue.put(request)
        writer._ensure_started()
        for request in requests:
            request.future.result(timeout=10)

    writer = Recording(db, clock, commit_delay=0.002, sleep=sleep)
    try:
        run("T-1", "T-2")  # nothing before: no wait
        run("T-3", join=("T-4",))  # two requests last time: wait, and T-4 joins T-3
        run("T-5")  # T-3 and T-4 last time: wait; nobody joins
        run("T-6")  # alone last time: no wait
    finally:
        writer.stop()

    assert batches == [["T-1", "T-2"], ["T-3", "T-4"], ["T-5"], ["T-6"]]
    assert waits == [0.002, 0.002]
    assert count_rows(db, TicketEventRow.id) == 6
