"""Bringing a stored clock's numbers up to ``now`` without replaying its ticket.

A stored running clock was evaluated at ``evaluated_at``; until its next stored
action nothing changes its course but time, so elapsed time is the stored
figure plus the business time between then and now on the clock's calendar.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.clocks.resolver import BusinessCalendarLike


@dataclass(frozen=True)
class LiveNumbers:
    elapsed_seconds: int
    remaining_seconds: int
    percent: float
    breached: bool
    over_target: bool


def live_numbers(
    *,
    state: str,
    elapsed_at_evaluation: int,
    evaluated_at: dt.datetime,
    target_seconds: int,
    limit_seconds: int,
    breached: bool,
    calendar: BusinessCalendarLike,
    now: dt.datetime,
) -> LiveNumbers:
    """The clock's figures as of ``now`` (only running clocks move)."""
    elapsed = elapsed_at_evaluation
    if state == "running" and now > evaluated_at:
        elapsed += calendar.elapsed(evaluated_at, now)
    remaining = limit_seconds - elapsed
    percent = round(100.0 * elapsed / limit_seconds, 2) if limit_seconds else 100.0
    return LiveNumbers(
        elapsed_seconds=elapsed,
        remaining_seconds=remaining,
        percent=percent,
        breached=breached or elapsed > limit_seconds,
        over_target=target_seconds < elapsed <= limit_seconds,
    )
