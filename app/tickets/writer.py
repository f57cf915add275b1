"""Group commit for the ingestion routes: one thread writes every waiting request's events in one transaction.

A single event costs about a millisecond of replay and a dozen statements; most of those
statements (ticket lookup, event insert, context stamp, reading events and clocks, the flush,
the commit) cost the same for one event as for fifty. Requests therefore hand their validated
events to this writer and wait; the writer takes everything that queued up while it was busy and
writes it as one transaction through :func:`service.ingest_groups`. Under no load a request is
written at once (no batching delay); under load batches grow by themselves.

Left to themselves, batches settle at about half the concurrent callers: while one batch is
written, the event loop (sharing the GIL) only gets through part of the next callers. So, like
PostgreSQL's ``commit_delay``/``commit_siblings``, when the previous batch had company (two or
more requests) the writer first waits ``commit_delay`` seconds, yielding the CPU to the event loop so
that the other callers' requests join the transaction (ADR 11).

A ``deferred`` request (inbound webhooks) only logs its events and queues its tickets; the writer
then pokes this process's worker to project them (ADR 7).

Each request keeps its own all-or-nothing answer: if a combined transaction fails, the writer
retries each request alone, so one bad request cannot fail or change the others.
See docs/adr/0006-group-commit-ingestion.md.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from app.clocks.jobs import REPLAY_JOB
from app.core.clock import Now
from app.core.db import Database
from app.core.metrics import INGEST_BATCH_EVENTS
from app.tickets import service
from app.tickets.events import NormalizedEvent
from app.tickets.service import IngestResult
from app.worker.runner import poke

log = logging.getLogger(__name__)

# Called once per batch, in its transaction, for the requests that named it: with each one's
# ``context`` and result, and the batch's instant; returns their answers in the same order
# (one statement for all of them, e.g. webhook receipts, rather than one per request).
AfterIngest = Callable[[Session, Sequence[tuple[Any, IngestResult]], datetime], Sequence[Any]]
MAX_BATCH_EVENTS = 2000


@dataclass
class IngestRequest:
    """One caller's events, its optional ``after`` step, and the future its answer goes to."""

    events: Sequence[NormalizedEvent]
    after: AfterIngest | None = None
    context: Any = None
    # Log only; the worker projects the tickets (see service.ingest_groups).
    deferred: bool = False
    future: Future[Any] = field(default_factory=Future)


class IngestWriter:
    """The process's single ingestion writer (started on first use, stopped with the app)."""

    def __init__(
        self, db: Database, now: Now, *, commit_delay: float = 0.0, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._db = db
        self._now = now
        self._commit_delay = commit_delay
        self._sleep = sleep
        # Requests in the last batch: a wait only pays off when others were writing alongside.
        self._last_requests = 0
        self._queue: queue.SimpleQueue[IngestRequest | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(
        self,
        events: Sequence[NormalizedEvent],
        after: AfterIngest | None = None,
        context: Any = None,
        *,
        deferred: bool = False,
    ) -> Any:
        """Store ``events`` and project their tickets (``deferred``: queue them for the worker's projection);
        returns ``after``'s answer for ``context`` (else the IngestResult)."""
        request = IngestRequest(events, after, context, deferred)
        self._ensure_started()
        self._queue.put(request)
        return await asyncio.wrap_future(request.future)

    def stop(self, timeout: float = 10) -> None:
        """Finish what is queued, then end the thread."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            if self._commit_delay > 0 and self._last_requests > 1:
                self._sleep(self._commit_delay)
            batch, size, stopping = [first], len(first.events), False
            while size < MAX_BATCH_EVENTS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                size += len(item.events)
            # A request whose caller gave up before its turn (cancelled future) is not written.
            live = [r for r in batch if r.future.set_running_or_notify_cancel()]
            self._last_requests = len(live)
            if live:
                INGEST_BATCH_EVENTS.observe(sum(len(r.events) for r in live))
                self.write_batch(live)
            if stopping:
                return

    def write_batch(self, batch: list[IngestRequest]) -> None:
        """Write ``batch`` as one transaction and resolve each request's future (the thread's step)."""
        try:
            with self._db.transaction() as session:
                now = self._now()
                groups, deferred = [r.events for r in batch], [r.deferred for r in batch]
                results = service.ingest_groups(session, groups, now, deferred=deferred)
                answers = _answers(session, batch, results, now)
        except Exception as exc:  # every failure goes back to the requests that caused it
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            log.info("combined ingestion of %d requests failed (%s); writing them one by one", len(batch), exc)
            for request in batch:
                self.write_batch([request])
            return
        if any(r.deferred and res.new for r, res in zip(batch, results, strict=True)):
            poke(REPLAY_JOB)  # their tickets are queued for the worker's projection
        for request, answer in zip(batch, answers, strict=True):
            request.future.set_result(answer)


def _answers(session: Session, batch: list[IngestRequest], results: list[IngestResult], now: datetime) -> list[Any]:
    answers: list[Any] = list(results)
    hooks: dict[AfterIngest, list[int]] = {}
    for index, request in enumerate(batch):
        if request.after is not None:
            hooks.setdefault(request.after, []).append(index)
    for hook, indexes in hooks.items():
        given = hook(session, [(batch[i].context, results[i]) for i in indexes], now)
        for index, answer in zip(indexes, given, strict=True):
            answers[index] = answer
    return answers


def app_writer(request: Request) -> IngestWriter:
    """The app's writer (``create_app`` makes one per app; its lifespan stops it).

    A plain function the routes call with their request rather than a FastAPI dependency: each
    dependency costs every request a round of dependency solving on the event loop.
    """
    writer: IngestWriter = request.app.state.ingest_writer
    return writer
