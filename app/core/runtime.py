"""Process-level tuning for long-running service processes (``serve``'s workers, ``worker``)."""

from __future__ import annotations

import gc

# Collections of the youngest generation after this many net allocations (CPython's default: 700).
# Every ORM unit of work allocates thousands of short-lived objects; at 700 the collector ran many
# times per request. Older generations keep CPython's ratios relaxed to 20.
GC_THRESHOLDS = (20_000, 20, 20)


def tune_gc() -> None:
    """Freeze start-up objects out of the collector and collect the young generation less often.

    Modules, mappers, schemas and compiled calendars live as long as the process; without the freeze
    every full collection walks them all again, which showed as the ingestion latency tail.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
