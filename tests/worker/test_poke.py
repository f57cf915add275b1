"""A poke runs the named job at once, however long the worker's interval."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from app.worker.runner import Job, Worker, poke

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def test_a_poked_worker_runs_only_that_job_now() -> None:
    runs = {"poked": 0, "other": 0}
    ran = threading.Event()

    def counting(name: str) -> Job:
        def run(db: object, now: object) -> int:
            runs[name] += 1
            if name == "poked":
                ran.set()
            return 0

        return Job(name, run)  # type: ignore[arg-type]

    worker = Worker(db=None, now=lambda: NOW, jobs=[counting("poked"), counting("other")], interval=600, hints={})  # type: ignore[arg-type]
    worker.start()
    try:
        # The first pass runs both jobs; then the worker would sleep ten minutes.
        assert ran.wait(5)
        ran.clear()
        poke("poked")
        assert ran.wait(5), "the poke did not wake the worker"
    finally:
        worker.stop()
    assert runs == {"poked": 2, "other": 1}


def test_poking_with_no_worker_running_does_nothing() -> None:
    poke("replay-requested")  # no worker in this process: nothing to wake, no error
