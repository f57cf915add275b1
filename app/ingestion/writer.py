"""The process's single ingestion writer: a queue drained by one thread, with group commit.

Requests (the events API, inbound webhooks) validate their events on the event loop, put them on
the queue and wait. The writer thread takes the first waiting request, lingers ``linger`` seconds
for more to arrive, and writes them all in one transaction through ``app.ingestion.flow`` (one
commit for many requests is what makes SQLite's single writer fast enough); no database work ever
runs on the event loop. Each request keeps its own all-or-nothing answer: if a combined
transaction fails, each request is written alone, so one bad request cannot fail the others.

A ``deferred`` request (an inbound webhook) only logs its events and queues its tickets; the
writer then pokes this process's clocks lane to project them.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request

from app.clocks import jobs as clock_jobs
from app.core.clock import Now
from app.core.db import Database
from app.core.metrics import INGEST_BATCH_EVENTS
from app.ingestion import flow, receipts
from app.ingestion.flow import IngestResult
from app.tickets.events import NormalizedEvent
from app.worker.runner import poke

log = logging.getLogger(__name__)

# A batch stops gathering at this many events, however many requests wait.
MAX_BATCH_EVENTS = 2000


@dataclass
class IngestRequest:
    """One caller's events, the future its answer goes to, and what else its transaction records."""

    events: Sequence[NormalizedEvent]
    future: asyncio.Future[IngestResult]
    # Log only; the clocks lane projects the tickets.
    deferred: bool = False
    # (connection, delivery id) of an inbound webhook, recorded with its events.
    receipt: tuple[str, str] | None = None


class IngestWriter:
    """Writes queued ingestion requests from one thread (started on first use, stopped with the app)."""

    def __init__(self, db: Database, now: Now, *, linger: float = 0.002) -> None:
        self._db = db
        self._now = now
        self._linger = linger
        self._queue: queue.SimpleQueue[IngestRequest | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(
        self, events: Sequence[NormalizedEvent], *, deferred: bool = False, receipt: tuple[str, str] | None = None
    ) -> IngestResult:
        """Store ``events`` and project their tickets (``deferred``: queue them for the clocks lane)."""
        request = IngestRequest(events, asyncio.get_running_loop().create_future(), deferred, receipt)
        self._ensure_started()
        self._queue.put(request)
        return await request.future

    def stop(self, timeout: float = 10) -> None:
        """Write what is queued, then end the thread."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stopping = self._gather(first)
            live = [r for r in batch if not r.future.done()]  # a caller that gave up is not written
            if live:
                outcomes = self.write_batch(live)
                for request, outcome in zip(live, outcomes, strict=True):
                    _answer(request, outcome)
            if stopping:
                return

    def _gather(self, first: IngestRequest) -> tuple[list[IngestRequest], bool]:
        """``first`` and whatever joins it within the linger (up to ``MAX_BATCH_EVENTS``); whether a stop
        request came meanwhile."""
        batch, size = [first], len(first.events)
        deadline = time.monotonic() + self._linger
        while size < MAX_BATCH_EVENTS:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            size += len(item.events)
        return batch, False

    def write_batch(self, batch: list[IngestRequest]) -> list[IngestResult | Exception]:
        """Write ``batch`` as one transaction; if that fails, each request alone. Each request's result
        or the exception that failed it, in order."""
        try:
            return list(self._write(batch))
        except Exception as exc:  # every failure goes back to the requests that caused it
            if len(batch) == 1:
                return [exc]
            log.info("combined ingestion of %d requests failed (%s); writing them one by one", len(batch), exc)
            return [self.write_batch([request])[0] for request in batch]

    def _write(self, batch: list[IngestRequest]) -> list[IngestResult]:
        with self._db.transaction() as session:
            INGEST_BATCH_EVENTS.observe(sum(len(r.events) for r in batch))
            now = self._now()
            results = flow.ingest(session, [r.events for r in batch], now, deferred=[r.deferred for r in batch])
            given = [(k, res) for r, res in zip(batch, results, strict=True) if (k := r.receipt) is not None]
            receipts.record(session, given, now)
        if any(r.deferred and result.new for r, result in zip(batch, results, strict=True)):
            poke(clock_jobs.REPLAY_JOB)
        return results


def _answer(request: IngestRequest, outcome: IngestResult | Exception) -> None:
    loop = request.future.get_loop()
    try:
        loop.call_soon_threadsafe(_settle, request.future, outcome)
    except RuntimeError:  # that event loop is closed: nobody waits for this answer
        log.debug("ingestion answer for a closed event loop dropped")


def _settle(future: asyncio.Future[IngestResult], outcome: IngestResult | Exception) -> None:
    if future.done():  # cancelled meanwhile: the events are stored all the same
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def app_writer(request: Request) -> IngestWriter:
    """The app's writer (``create_app`` makes one per app; its lifespan stops it)."""
    writer: IngestWriter = request.app.state.ingest_writer
    return writer
