"""Group commit for the ingestion routes: every waiting request's events written in one transaction.

A single event costs about half a millisecond of replay and a dozen statements; most of those
statements (ticket lookup, event insert, context stamp, reading events and clocks, the commit)
cost the same for one event as for fifty. Requests therefore hand their validated events to this
writer and wait; it writes what has gathered as one transaction through
:func:`service.ingest_groups` (ADR 6).

**Gathering** (on the event loop). A request joins the pending batch. The batch is written as soon
as it holds as many requests as the largest of the last ``RECENT_BATCHES`` transactions (under a
steady load of N concurrent callers: N), else after ``commit_delay`` seconds at the latest. A lone
caller after lone callers is written at once; a batch also leaves as soon as the requests already
parsed in the same turn of the loop have joined it, which is how the size grows with the load (ADR 13).

**Writing.** On SQLite a batch of at most ``INLINE_MAX_EVENTS`` events is written right there on the
event loop, provided the write lock is free at once (no other thread or process writing): the GIL
lets only one of the loop and a writer thread run anyway, and handing each batch to a thread and the
answers back cost ~7% of the throughput in thread switches. Anything else (PostgreSQL, whose
statements wait on the network; large batches, which would hold the loop too long; a busy lock)
goes to the writer thread, which merges what queued and writes it, waiting for the lock.

A ``deferred`` request (inbound webhooks) only logs its events and queues its tickets; the writer
then pokes this process's worker to project them (ADR 7).

Each request keeps its own all-or-nothing answer: if a combined transaction fails, the writer
thread writes each request alone, so one bad request cannot fail or change the others.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from app.clocks.jobs import REPLAY_JOB
from app.core.clock import Now
from app.core.db import Database, WriteLockBusy
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
# The most events written on the event loop itself: ~0.5 ms each, so the loop pauses ~15 ms at most.
INLINE_MAX_EVENTS = 32
# How many recent transactions' sizes set the size a batch waits for.
RECENT_BATCHES = 16


@dataclass
class IngestRequest:
    """One caller's events, its optional ``after`` step, and the future its answer goes to."""

    events: Sequence[NormalizedEvent]
    future: asyncio.Future[Any]
    after: AfterIngest | None = None
    context: Any = None
    # Log only; the worker projects the tickets (see service.ingest_groups).
    deferred: bool = False


@dataclass(frozen=True)
class Failed:
    """The exception that failed a request (its outcome instead of an answer)."""

    error: Exception


# A request's answer, or Failed.
Outcome = Any


class IngestWriter:
    """The process's single ingestion writer (its thread starts on first use and stops with the app)."""

    def __init__(
        self, db: Database, now: Now, *, commit_delay: float = 0.002, inline_max_events: int = INLINE_MAX_EVENTS
    ) -> None:
        self._db = db
        self._now = now
        self._commit_delay = commit_delay
        self._inline_max_events = inline_max_events if db.is_sqlite else 0
        # Touched on the event loop only.
        self._pending: list[IngestRequest] = []
        self._recent: deque[int] = deque([1], maxlen=RECENT_BATCHES)
        self._timer: asyncio.TimerHandle | None = None
        self._flush_scheduled = False
        self._with_thread = 0  # batches handed to the thread and not answered yet
        # The writer thread's side.
        self._queue: queue.SimpleQueue[list[IngestRequest] | None] = queue.SimpleQueue()
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
        loop = asyncio.get_running_loop()
        request = IngestRequest(events, loop.create_future(), after, context, deferred)
        self._pending.append(request)
        if len(self._pending) >= max(self._recent) or self._commit_delay <= 0:
            self._flush_soon(loop)
        elif self._timer is None and not self._flush_scheduled:
            self._timer = loop.call_later(self._commit_delay, self._flush)
        return await request.future

    def stop(self, timeout: float = 10) -> None:
        """Finish what the thread has queued, then end it."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _flush_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        # After the callbacks already due: requests parsed in this turn of the loop still join.
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._flush_scheduled = False
        # A request whose caller gave up before its turn (cancelled future) is not written.
        batch = [r for r in self._pending if not r.future.done()]
        self._pending = []
        if not batch:
            return
        self._recent.append(len(batch))
        if _events_in(batch) <= self._inline_max_events and not self._with_thread:
            try:
                outcomes = self._write(batch, wait=False)
            except WriteLockBusy:
                pass  # another writer is at work: the thread waits for it
            except Exception as exc:  # rolled back: the thread writes the requests again, one by one if need be
                log.info("ingestion of %d requests failed on the event loop (%s); the thread retries", len(batch), exc)
            else:
                _settle(batch, outcomes)
                return
        self._with_thread += 1
        self._ensure_started()
        self._queue.put(batch)

    def _answered_by_thread(self, batch: list[IngestRequest], outcomes: list[Outcome]) -> None:
        self._with_thread -= 1
        _settle(batch, outcomes)

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
            handed, size, stopping = [first], _events_in(first), False
            while size < MAX_BATCH_EVENTS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                handed.append(item)
                size += _events_in(item)
            outcomes = iter(self.write_batch([r for batch in handed for r in batch]))
            for batch in handed:
                answers = [next(outcomes) for _ in batch]
                loop = batch[0].future.get_loop()
                try:
                    loop.call_soon_threadsafe(self._answered_by_thread, batch, answers)
                except RuntimeError:  # that event loop is closed: nobody waits for these answers
                    log.debug("ingestion answers for a closed event loop dropped")
            if stopping:
                return

    def write_batch(self, batch: list[IngestRequest]) -> list[Outcome]:
        """Write ``batch`` as one transaction, waiting for the write lock; if that fails, each request
        alone. Returns each request's answer or ``Failed``, in order."""
        try:
            return self._write(batch, wait=True)
        except Exception as exc:  # every failure goes back to the requests that caused it
            if len(batch) == 1:
                return [Failed(exc)]
            log.info("combined ingestion of %d requests failed (%s); writing them one by one", len(batch), exc)
            return [self.write_batch([request])[0] for request in batch]

    def _write(self, batch: list[IngestRequest], *, wait: bool) -> list[Any]:
        """One transaction for ``batch``; its answers. ``wait=False``: ``WriteLockBusy`` unless the write
        lock is free at once."""
        with self._db.transaction(wait=wait) as session:
            INGEST_BATCH_EVENTS.observe(_events_in(batch))
            now = self._now()
            groups, deferred = [r.events for r in batch], [r.deferred for r in batch]
            results = service.ingest_groups(session, groups, now, deferred=deferred)
            answers = _answers(session, batch, results, now)
        if any(r.deferred and res.new for r, res in zip(batch, results, strict=True)):
            poke(REPLAY_JOB)  # their tickets are queued for the worker's projection
        return answers


def _events_in(batch: Sequence[IngestRequest]) -> int:
    return sum(len(r.events) for r in batch)


def _settle(batch: Sequence[IngestRequest], outcomes: Sequence[Outcome]) -> None:
    for request, outcome in zip(batch, outcomes, strict=True):
        if request.future.done():  # cancelled meanwhile: the events are stored all the same
            continue
        if isinstance(outcome, Failed):
            request.future.set_exception(outcome.error)
        else:
            request.future.set_result(outcome)


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
