"""The worker lanes: which background jobs run together, in one thread per lane.

Time-critical work (projecting queued tickets, firing escalation levels) has a lane of its own, so
it never waits behind slow I/O: a receiver that hangs until its timeout holds up the deliveries
lane only, a Jira that answers after 20 s the writeback lane only, a long sync the sync lane only.
The lanes that do I/O bound their own concurrency and timeouts (``app.webhooks.delivery``,
``app.escalations.writeback``) and hold no transaction across a call.

On SQLite every lane runs in the service's process (one writer at a time, in turn). On PostgreSQL
an operator may run lanes in processes of their own: ``sla-tracker worker --lanes clocks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.clocks import jobs as clock_jobs
from app.connections import jobs as connection_jobs
from app.core.clock import Now
from app.core.db import Database
from app.escalations import jobs as escalation_jobs
from app.webhooks import jobs as webhook_jobs
from app.worker.runner import Job, WakeHint, Worker


@dataclass(frozen=True)
class Lane:
    """A named set of jobs run in turn by one worker thread; ``hints`` wake it for timed work."""

    name: str
    jobs: tuple[Job, ...]
    hints: dict[str, WakeHint] = field(default_factory=dict)


LANES: tuple[Lane, ...] = (
    Lane(
        "clocks",
        (
            Job(clock_jobs.REPLAY_JOB, clock_jobs.replay_requested),
            Job("escalations", escalation_jobs.scan),
        ),
        {"escalations": escalation_jobs.next_clock_action},
    ),
    Lane(
        "deliveries",
        (Job("deliveries", webhook_jobs.deliveries), Job("outbox-retention", webhook_jobs.outbox_retention)),
    ),
    Lane("writeback", (Job("writebacks", escalation_jobs.writebacks),)),
    Lane("sync", (Job("sync", connection_jobs.poll_connections),)),
)
LANE_NAMES: tuple[str, ...] = tuple(lane.name for lane in LANES)


def lane(name: str) -> Lane:
    """The lane called ``name`` (ValueError naming the known ones otherwise)."""
    for candidate in LANES:
        if candidate.name == name:
            return candidate
    raise ValueError(f"unknown lane {name!r}; lanes are {', '.join(LANE_NAMES)}")


class Workers:
    """One worker thread per lane, started and stopped together."""

    def __init__(self, db: Database, now: Now, interval: float, names: Sequence[str] = LANE_NAMES) -> None:
        self.workers = [
            Worker(db, now, list(chosen.jobs), interval, chosen.hints, name=chosen.name)
            for chosen in (lane(name) for name in names)
        ]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def run_forever(self) -> None:
        """Run the lanes until interrupted (the ``worker`` command): every lane but the first in a
        thread, the first in the caller's."""
        first, *rest = self.workers
        for worker in rest:
            worker.start()
        try:
            first.run_forever()
        finally:
            for worker in rest:
                worker.stop()
