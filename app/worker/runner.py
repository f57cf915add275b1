"""The worker loop: one lane's jobs run in turn in one thread, each pass in its own transaction(s).

Jobs are plain callables ``(db, now) -> int`` returning how much work they did; a job that did
work is run again at once. When a pass did nothing the worker waits for the interval before the
next pass; a lane with a *wake hint* (the next instant it will have work, e.g. the next clock's
``next_action_at``) also runs its hinted job alone at that instant, so timed work such as
escalations runs on time whatever the interval. One failing job is logged and counted, and never
stops the others. Which jobs run in which lane is written once, in ``app.worker.lanes``.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from app.core.clock import Now
from app.core.db import Database
from app.core.metrics import WORKER_RUNS

log = logging.getLogger("sla_tracker.worker")

JobFn = Callable[[Database, Now], int]
# (db, now) -> the next instant after ``now`` at which its job will have work, if known.
WakeHint = Callable[[Database, datetime], datetime | None]
# Waking exactly at the instant could find the work not due yet by a clock tick; wake just after.
WAKE_MARGIN_S = 0.005


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn


# The workers running in this process, for ``poke``.
_RUNNING: weakref.WeakSet[Worker] = weakref.WeakSet()


def poke(job: str) -> None:
    """Tell this process's idle workers that ``job`` has work now (e.g. tickets queued for projection).

    A worker in another process finds the work on its next pass instead.
    """
    for worker in list(_RUNNING):
        if any(own.name == job for own in worker.jobs):
            worker.poke(job)


class Worker:
    """Runs one lane's jobs until ``stop()``; usable in a background thread or in the foreground.

    ``hints`` maps a job's name to its wake hint.
    """

    def __init__(
        self,
        db: Database,
        now: Now,
        jobs: list[Job],
        interval: float,
        hints: Mapping[str, WakeHint] | None = None,
        *,
        name: str = "worker",
    ) -> None:
        self.db = db
        self.now = now
        self.jobs = jobs
        self.interval = interval
        self.name = name
        self.hints = dict(hints or {})
        self.hinted = [job for job in jobs if job.name in self.hints]
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._poked: set[str] = set()
        self._poke_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run_once(self, jobs: list[Job] | None = None) -> int:
        """One pass over ``jobs`` (every job by default); total work done."""
        total = 0
        for job in self.jobs if jobs is None else jobs:
            try:
                done = job.run(self.db, self.now)
                WORKER_RUNS.labels(job.name, "ok").inc()
                total += done
            except Exception:
                WORKER_RUNS.labels(job.name, "error").inc()
                log.exception("worker job %s failed", job.name)
        return total

    def idle_wait(self, limit: float | None = None) -> float:
        """Seconds to sleep after an idle pass: ``limit`` (the interval by default), or until the earliest
        wake hint."""
        now = self.now()
        wait = self.interval if limit is None else limit
        for hint in self.hints.values():
            try:
                instant = hint(self.db, now)
            except Exception:
                log.exception("worker wake hint failed")
                continue
            if instant is not None:
                wait = min(wait, max(0.0, (instant - now).total_seconds()) + WAKE_MARGIN_S)
        return wait

    def poke(self, job: str) -> None:
        """Run ``job`` now if the worker is waiting (at the end of its current pass otherwise)."""
        with self._poke_lock:
            self._poked.add(job)
        self._wake.set()

    def run_forever(self) -> None:
        log.info("worker started", extra={"lane": self.name, "jobs": [j.name for j in self.jobs]})
        _RUNNING.add(self)
        jobs, full_pass_at = self.jobs, 0.0
        while not self._stop.is_set():
            if jobs is self.jobs:
                full_pass_at = time.monotonic() + self.interval
            if self.run_once(jobs) > 0:
                continue
            until_full_pass = max(0.0, full_pass_at - time.monotonic())
            wait = self.idle_wait(until_full_pass)
            self._wake.wait(wait)
            self._wake.clear()
            with self._poke_lock:
                poked, self._poked = self._poked, set()
            if poked:
                jobs = [job for job in self.jobs if job.name in poked]
            else:
                # Woken by a hint before the next full pass: only the hinted jobs have work to look at.
                jobs = self.jobs if wait >= until_full_pass else self.hinted
        _RUNNING.discard(self)
        log.info("worker stopped", extra={"lane": self.name})

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name=f"sla-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
