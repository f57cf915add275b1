"""The worker loop: runs every registered job in turn, each pass in its own transaction(s).

Jobs are plain callables ``(db, now) -> int`` returning how much work they did;
a job that did work is run again at once. When a pass did nothing the worker waits
for the interval, or less when a *wake hint* (``@wake_hint``: the next instant some
job will have work, e.g. the next clock's ``next_action_at``) comes sooner, so timed
work such as escalations runs on time whatever the interval.
One failing job is logged and counted, and never stops the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.core.clock import Now
from app.core.db import Database
from app.core.metrics import WORKER_RUNS

log = logging.getLogger("sla_tracker.worker")

JobFn = Callable[[Database, Now], int]
# (db, now) -> the next instant after ``now`` at which some job will have work, if known.
WakeHint = Callable[[Database, datetime], datetime | None]
# Waking exactly at the instant could find the work not due yet by a clock tick; wake just after.
WAKE_MARGIN_S = 0.005


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn


# Domains append their jobs and wake hints here at import time (see app/worker/jobs.py).
REGISTRY: list[Job] = []
WAKE_HINTS: list[WakeHint] = []


def register(name: str) -> Callable[[JobFn], JobFn]:
    """Decorator adding a job to the worker's registry."""

    def decorate(fn: JobFn) -> JobFn:
        REGISTRY.append(Job(name, fn))
        return fn

    return decorate


def wake_hint(fn: WakeHint) -> WakeHint:
    """Decorator adding a wake hint: the worker sleeps at most until the instant it returns."""
    WAKE_HINTS.append(fn)
    return fn


class Worker:
    """Runs jobs until ``stop()``; usable in a background thread or in the foreground."""

    def __init__(
        self, db: Database, now: Now, jobs: list[Job], interval: float, hints: list[WakeHint] | None = None
    ) -> None:
        self.db = db
        self.now = now
        self.jobs = jobs
        self.interval = interval
        self.hints = WAKE_HINTS if hints is None else hints
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One pass over every job; total work done."""
        total = 0
        for job in self.jobs:
            try:
                done = job.run(self.db, self.now)
                WORKER_RUNS.labels(job.name, "ok").inc()
                total += done
            except Exception:
                WORKER_RUNS.labels(job.name, "error").inc()
                log.exception("worker job %s failed", job.name)
        return total

    def idle_wait(self) -> float:
        """Seconds to sleep after an idle pass: the interval, or until the earliest wake hint."""
        now = self.now()
        wait = self.interval
        for hint in self.hints:
            try:
                instant = hint(self.db, now)
            except Exception:
                log.exception("worker wake hint failed")
                continue
            if instant is not None:
                wait = min(wait, max(0.0, (instant - now).total_seconds()) + WAKE_MARGIN_S)
        return wait

    def run_forever(self) -> None:
        log.info("worker started", extra={"jobs": [j.name for j in self.jobs]})
        while not self._stop.is_set():
            if self.run_once() == 0:
                self._stop.wait(self.idle_wait())
        log.info("worker stopped")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="sla-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
