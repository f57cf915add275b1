"""The worker loop: runs every registered job in turn, each pass in its own transaction(s).

Jobs are plain callables ``(db, now) -> int`` returning how much work they did;
a job that did work is run again at once, an idle one waits for the interval.
One failing job is logged and counted, and never stops the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from app.core.clock import Now
from app.core.db import Database
from app.core.metrics import WORKER_RUNS

log = logging.getLogger("sla_tracker.worker")

JobFn = Callable[[Database, Now], int]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn


# Domains append their jobs here at import time (see app/worker/jobs.py).
REGISTRY: list[Job] = []


def register(name: str) -> Callable[[JobFn], JobFn]:
    """Decorator adding a job to the worker's registry."""

    def decorate(fn: JobFn) -> JobFn:
        REGISTRY.append(Job(name, fn))
        return fn

    return decorate


class Worker:
    """Runs jobs until ``stop()``; usable in a background thread or in the foreground."""

    def __init__(self, db: Database, now: Now, jobs: list[Job], interval: float) -> None:
        self.db = db
        self.now = now
        self.jobs = jobs
        self.interval = interval
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

    def run_forever(self) -> None:
        log.info("worker started", extra={"jobs": [j.name for j in self.jobs]})
        while not self._stop.is_set():
            if self.run_once() == 0:
                self._stop.wait(self.interval)
        log.info("worker stopped")

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="sla-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
