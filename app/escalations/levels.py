"""Where a policy's escalation levels fall on one clock: pure functions over the engine's ``ClockState``.

A level's instant is read off the clock's own timeline with ``instant_at_elapsed``,
so pauses, business hours, weekends and late events move it exactly as they move
``due_at``. Conventions (docs/webhooks.md):

- ``N%`` and ``<d> before`` are reached at the latest instant the clock's elapsed
  business time equals that share of the limit (like ``warn_at``);
- ``breach`` is reached at ``breached_at`` (``breach_instant``: one second past
  ``due_at``, when elapsed time first *exceeds* the limit; at ``due_at`` itself
  the clock is still in time);
- ``<d> after`` counts business time past the limit (``clock: business``, the
  default) or wall time after ``due_at`` (``clock: wall``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.calendars.service import CalendarSet
from app.clocks.measure import BREACH_STEP, breach_instant, instant_at_elapsed
from app.clocks.state import ClockState, ClockStatus
from app.policies.conditions import LevelKind
from app.policies.spec import EscalationSpec

OPEN = (ClockStatus.running, ClockStatus.paused)


@dataclass(frozen=True)
class PlannedLevel:
    """One escalation level of one clock: its stable key, its rule, and when it is (or was) reached."""

    key: str
    spec: EscalationSpec
    instant: datetime | None

    def reached(self, as_of: datetime) -> bool:
        """Whether the clock had reached this level by ``as_of``."""
        return self.instant is not None and self.instant <= as_of


def level_key(index: int, spec: EscalationSpec) -> str:
    """A key stable for the life of a policy version (versions are immutable, so the index is too)."""
    return f"{index}:{spec.metric}:{spec.at}:{spec.clock}"[:200]


def applies(spec: EscalationSpec, clock: ClockState) -> bool:
    """Whether the escalation rule covers this clock's metric, tier and priority."""
    if spec.metric not in ("any", clock.metric):
        return False
    if spec.tier and clock.tier not in spec.tier:
        return False
    return not (spec.priority and clock.priority not in spec.priority)


def level_instant(spec: EscalationSpec, clock: ClockState, calendars: CalendarSet) -> datetime | None:
    """When ``clock`` reaches the level (past or ahead); ``None`` if a paused or stopped clock never got there."""
    level = spec.at
    breach = clock.breached_at or (breach_instant(clock.due_at) if clock.due_at is not None else None)
    if level.kind is LevelKind.breach:
        return breach
    if level.kind is LevelKind.after and spec.clock == "wall":
        # From the limit, like business time after it: ``due_at``, one step before the breach (a paused
        # or stopped clock has no ``due_at`` any more, only its ``breached_at``).
        return None if breach is None else breach - BREACH_STEP + timedelta(seconds=level.seconds or 0)
    elapsed = level.elapsed_for(clock.limit_seconds)
    return instant_at_elapsed(clock, calendars.compiled, max(0, elapsed), ticket_timezone_calendar=calendars.zoned)


def plan(specs: Sequence[EscalationSpec], clock: ClockState, calendars: CalendarSet) -> list[PlannedLevel]:
    """Every level of ``specs`` that applies to ``clock``, with its instant."""
    return [
        PlannedLevel(level_key(index, spec), spec, level_instant(spec, clock, calendars))
        for index, spec in enumerate(specs)
        if applies(spec, clock)
    ]


def may_fire(clock: ClockState) -> bool:
    """Only open, non-exempt clocks escalate: a clock met, cancelled or exempted first never fires a level."""
    return clock.state in OPEN and not clock.exempt
