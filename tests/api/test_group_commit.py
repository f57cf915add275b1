"""The ingestion writer: several requests in one transaction, each with its own answer (SQLite and
PostgreSQL); requests that arrive within the linger share a transaction; nothing runs on the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event as sa_event
from sqlalchemy import select

from app.clocks.models import ClockRow
from app.core.db import Database
from app.ingestion.flow import IngestResult
from app.ingestion.writer import IngestRequest, IngestWriter
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketEventRow, TicketRow
from tests.api.factories import created, event, setup_support
from tests.conftest import FakeClock, count_rows, project_queued

T = TypeVar("T")


def _events(*bodies: dict[str, Any]) -> list[NormalizedEvent]:
    return [NormalizedEvent.model_validate(b) for b in bodies]


def _writer(client: TestClient) -> IngestWriter:
    writer: IngestWriter = client.app.state.ingest_writer  # type: ignore[attr-defined]
    return writer


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop for the requests' futures (``write_batch`` itself runs without one)."""
    running = asyncio.new_event_loop()
    yield running
    running.close()


def _request(loop: asyncio.AbstractEventLoop, events: list[NormalizedEvent], **options: Any) -> IngestRequest:
    return IngestRequest(events, loop.create_future(), **options)


def _run(main: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(main, timeout=20))


class Recording(IngestWriter):
    """Notes each transaction's ticket keys and the thread that wrote it; fails any transaction that
    holds a ticket named ``BAD``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[list[str]] = []
        self.threads: list[str] = []

    def _write(self, batch: list[IngestRequest]) -> list[IngestResult]:
        keys = [e.key for r in batch for e in r.events]
        self.batches.append(keys)
        self.threads.append(threading.current_thread().name)
        if "BAD" in keys:
            raise RuntimeError("this request cannot be written")
        return super()._write(batch)


def test_one_transaction_for_several_requests_each_with_its_answer(
    client: TestClient, admin_headers: dict[str, str], db: Database, loop: asyncio.AbstractEventLoop
) -> None:
    setup_support(client, admin_headers)
    comment = event(id="c1", type="comment", at="2025-01-06T09:20:00Z", author_role="agent", public=True)
    batch = [
        _request(loop, _events(created(key="T-1"), comment)),
        _request(loop, _events(created(key="T-2"))),
        _request(loop, _events(created(key="T-1"), created(key="T-3"))),  # T-1's created again: duplicate
    ]
    commits: list[object] = []

    def count_commit(connection: object) -> None:
        commits.append(connection)

    sa_event.listen(db.engine, "commit", count_commit)
    try:
        results: list[IngestResult] = _writer(client).write_batch(batch)
    finally:
        sa_event.remove(db.engine, "commit", count_commit)

    assert [(len(r.new), len(r.duplicate)) for r in results] == [(2, 0), (1, 0), (1, 1)]
    assert [p.ticket.key for p in results[2].projections] == ["T-3"]
    assert len(commits) == 1
    assert count_rows(db, TicketEventRow.id) == 4
    # Every ticket projected: first_response and resolution clocks for T-1, T-2 and T-3.
    assert count_rows(db, ClockRow.id) == 6


def test_a_failing_request_fails_alone_and_leaves_nothing(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock, loop: asyncio.AbstractEventLoop
) -> None:
    setup_support(client, admin_headers)
    good = _request(loop, _events(created(key="T-1")))
    bad = _request(loop, _events(created(key="BAD")))
    later = _request(loop, _events(created(key="T-3")))
    writer = Recording(db, clock)

    first, failed, third = writer.write_batch([good, bad, later])

    assert isinstance(first, IngestResult)
    assert len(first.new) == 1
    assert isinstance(third, IngestResult)
    assert len(third.new) == 1
    assert isinstance(failed, RuntimeError)
    assert writer.batches == [["T-1", "BAD", "T-3"], ["T-1"], ["BAD"], ["T-3"]]
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


def test_deferred_requests_log_their_events_and_queue_the_tickets_for_the_worker(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock, loop: asyncio.AbstractEventLoop
) -> None:
    setup_support(client, admin_headers)
    comment = event(key="T-2", id="c1", type="comment", at="2025-01-06T09:20:00Z", author_role="agent", public=True)
    batch = [
        _request(loop, _events(created(key="T-1")), deferred=True),
        _request(loop, _events(created(key="T-2")), deferred=True),
        _request(loop, _events(comment)),  # T-2 gets projected here anyway, so it is not queued
    ]
    results: list[IngestResult] = IngestWriter(db, clock).write_batch(batch)
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


def _keys(db: Database) -> set[str]:
    with db.transaction(write=False) as session:
        return set(session.scalars(select(TicketEventRow.key)))


def _keys(db: Database) -> set[str]:
    with db.transaction(write=False) as session:
        return set(session.scalars(select(TicketEventRow.key)))


def test_requests_within_the_linger_share_a_transaction_written_by_the_writer_thread(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    writer = Recording(db, clock, linger=0.5)

    async def scenario() -> None:
        answers = await asyncio.gather(*(writer.submit(_events(created(key=k))) for k in ("T-1", "T-2", "T-3")))
        assert [len(a.new) for a in answers] == [1, 1, 1]

    _run(scenario())
    writer.stop()
    assert writer.batches == [["T-1", "T-2", "T-3"]]
    assert writer.threads == ["ingest-writer"]


def test_without_a_linger_a_lone_request_is_written_at_once(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    writer = Recording(db, clock, linger=0)

    async def scenario() -> None:
        await writer.submit(_events(created(key="T-1")))
        await writer.submit(_events(created(key="T-2")))

    _run(scenario())
    writer.stop()
    assert writer.batches == [["T-1"], ["T-2"]]


def test_a_request_cancelled_before_its_turn_is_not_written(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    writer = IngestWriter(db, clock, linger=0.5)

    async def scenario() -> None:
        kept = asyncio.ensure_future(writer.submit(_events(created(key="T-1"))))
        dropped = asyncio.ensure_future(writer.submit(_events(created(key="T-2"))))
        await asyncio.sleep(0.05)  # both wait in the writer's linger
        dropped.cancel()
        assert len((await kept).new) == 1
        with pytest.raises(asyncio.CancelledError):
            await dropped

    _run(scenario())
    writer.stop()
    assert _keys(db) == {"T-1"}


def test_the_writer_thread_stops_with_the_app_and_restarts_on_use(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    setup_support(client, admin_headers)
    writer = _writer(client)
    assert client.post("/api/v1/events", json=[created(key="T-1")], headers=admin_headers).status_code == 200
    writer.stop()
    response = client.post("/api/v1/events", json=[created(key="U-1"), created(key="T-1")], headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
