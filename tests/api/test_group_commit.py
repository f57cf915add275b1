"""The ingestion writer: several requests in one transaction, each with its own answer (SQLite and PostgreSQL);
where it writes (on the event loop, or in its thread) and how long a batch gathers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

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
from app.tickets.writer import INLINE_MAX_EVENTS, Failed, IngestRequest, IngestWriter
from tests.api.factories import created, event, setup_support
from tests.conftest import FakeClock, count_rows, project_queued
from tests.fakes.write_lock import written_by_another_thread

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
    """Notes each transaction's ticket keys and the thread that wrote it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[list[str]] = []
        self.threads: list[str] = []

    def _write(self, batch: list[IngestRequest], *, wait: bool) -> list[Any]:
        answers = super()._write(batch, wait=wait)
        self.batches.append([e.key for r in batch for e in r.events])
        self.threads.append(threading.current_thread().name)
        return answers


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
    client: TestClient, admin_headers: dict[str, str], db: Database, loop: asyncio.AbstractEventLoop
) -> None:
    setup_support(client, admin_headers)

    def refuse(session: Session, items: Sequence[tuple[Any, IngestResult]], now: datetime) -> list[Any]:
        raise RuntimeError("receipt could not be written")

    good = _request(loop, _events(created(key="T-1")))
    bad = _request(loop, _events(created(key="T-2")), after=refuse)
    later = _request(loop, _events(created(key="T-3")))
    first, failed, third = _writer(client).write_batch([good, bad, later])

    assert len(first.new) == 1
    assert len(third.new) == 1
    assert isinstance(failed, Failed)
    assert str(failed.error) == "receipt could not be written"
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


def test_requests_parsed_together_share_a_transaction_and_later_ones_wait_for_as_many(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    writer = Recording(db, clock, commit_delay=0.05)

    def submit(key: str) -> Coroutine[Any, Any, Any]:
        return writer.submit(_events(created(key=key)))

    async def scenario() -> None:
        await asyncio.gather(submit("T-1"), submit("T-2"))  # in one turn of the loop: one transaction
        await asyncio.gather(submit("T-3"), submit("T-4"))  # the second completes the batch of two
        lone = asyncio.ensure_future(submit("T-5"))
        await asyncio.sleep(0)
        # Two requests made the last transactions: the lone one waits for company, at most the delay.
        assert writer.batches == [["T-1", "T-2"], ["T-3", "T-4"]]
        assert writer._timer is not None
        assert len((await lone).new) == 1

    _run(scenario())
    assert writer.batches == [["T-1", "T-2"], ["T-3", "T-4"], ["T-5"]]
    assert _keys(db) == {f"T-{n}" for n in range(1, 6)}


def test_without_a_delay_every_request_is_written_at_once(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    writer = Recording(db, clock, commit_delay=0)

    async def scenario() -> None:
        await asyncio.gather(*(writer.submit(_events(created(key=k))) for k in ("T-1", "T-2")))
        await writer.submit(_events(created(key="T-3")))  # no waiting for a second one

    _run(scenario())
    assert writer.batches == [["T-1", "T-2"], ["T-3"]]


def test_a_request_cancelled_before_its_turn_is_not_written(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    writer = IngestWriter(db, clock)

    async def scenario() -> None:
        kept = asyncio.ensure_future(writer.submit(_events(created(key="T-1"))))
        dropped = asyncio.ensure_future(writer.submit(_events(created(key="T-2"))))
        await asyncio.sleep(0)  # both wait for the batch to leave
        dropped.cancel()
        assert len((await kept).new) == 1
        with pytest.raises(asyncio.CancelledError):
            await dropped

    _run(scenario())
    assert _keys(db) == {"T-1"}


def test_small_batches_are_written_on_the_event_loop_and_large_ones_in_the_thread(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    writer = Recording(db, clock)
    large = _events(*(created(key=f"L-{n}") for n in range(INLINE_MAX_EVENTS + 1)))

    async def scenario() -> str:
        await writer.submit(_events(created(key="T-1")))
        await writer.submit(large)
        return threading.current_thread().name

    try:
        loop_thread = _run(scenario())
    finally:
        writer.stop()
    # PostgreSQL's statements wait on the network: there every batch goes to the thread.
    expected = [loop_thread, "ingest-writer"] if db.is_sqlite else ["ingest-writer", "ingest-writer"]
    assert writer.threads == expected
    assert count_rows(db, TicketEventRow.id) == INLINE_MAX_EVENTS + 2


async def _submit_while_locked(writer: IngestWriter, unlock: Callable[[], object]) -> IngestResult:
    """Submit one event while another writer holds the lock, check that the event loop went on without
    it (busy at once, handed to the thread, which waits), then let the other writer finish."""
    answer = asyncio.ensure_future(writer.submit(_events(created(key="T-1"))))
    await asyncio.sleep(0.05)
    assert not answer.done()  # the event loop did not block on the lock, and nothing is written yet
    unlock()
    result: IngestResult = await answer
    return result


def test_while_another_thread_writes_the_batch_goes_to_the_writer_thread_which_waits(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    if not db.is_sqlite:
        pytest.skip("the process's SQLite write lock (PostgreSQL writers do not queue)")
    setup_support(client, admin_headers)
    writer = Recording(db, clock)
    try:
        with written_by_another_thread(db) as unlock:
            result = _run(_submit_while_locked(writer, unlock))
    finally:
        writer.stop()
    assert len(result.new) == 1
    assert writer.threads == ["ingest-writer"]


def test_sqlite_locked_by_another_connection_sends_the_batch_to_the_thread(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite's database lock")
    setup_support(client, admin_headers)
    writer = Recording(db, clock)
    other = sqlite3.connect(str(db.engine.url.database), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # e.g. the CLI applying policies: SQLite's own lock, not this process's

    try:
        result = _run(_submit_while_locked(writer, lambda: other.execute("COMMIT")))
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()
        writer.stop()
    assert len(result.new) == 1
    assert writer.threads == ["ingest-writer"]


def test_the_writer_thread_stops_with_the_app_and_restarts_on_use(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    setup_support(client, admin_headers)
    writer = _writer(client)
    large = [created(key=f"T-{n}") for n in range(INLINE_MAX_EVENTS + 1)]  # written by the thread
    assert client.post("/api/v1/events", json=large, headers=admin_headers).status_code == 200
    writer.stop()
    response = client.post("/api/v1/events", json=[created(key="U-1"), *large[1:]], headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
