"""What the clock engine reports: one ``ClockState`` per metric and cycle, with its timeline of spans."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.instants import UtcInstant
from app.policies.conditions import AnyOf
from app.policies.spec import MatchSpec


class ClockStatus(StrEnum):
    running = "running"
    paused = "paused"
    stopped = "stopped"
    cancelled = "cancelled"
    # Never the engine's verdict: the projection's, for a clock row whose cycle moved to another policy
    # version while open (or reopened there). Kept as history; no count, board or list of breaches uses it.
    superseded = "superseded"


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of a clock's life: running (counting on ``calendar``) or paused (with the reason).

    A plain dataclass, not a pydantic model: a long-lived clock carries hundreds of spans, rebuilt on
    every event, and pydantic neither revalidates nor slows down the instances ``ClockState`` holds.
    Instants are UTC (the engine only sees UTC instants), so they serialize with a ``Z``.
    """

    start: UtcInstant
    end: UtcInstant | None = None
    kind: Literal["running", "paused"] = "running"
    reason: str | None = None
    calendar: str = ""
    # The zone the calendar was re-read in (a ``timezone: ticket`` target), if any.
    timezone: str | None = None


class ClockState(BaseModel):
    """One metric's clock in one cycle, as of the evaluation instant."""

    model_config = ConfigDict(frozen=True)

    metric: str
    cycle: int = Field(ge=1)
    state: ClockStatus
    breached: bool
    met: bool | None
    target_seconds: int
    limit_seconds: int
    elapsed_seconds: int
    remaining_seconds: int
    percent: float
    over_target: bool
    due_at: UtcInstant | None
    target_at: UtcInstant | None
    warn_at: UtcInstant | None
    breached_at: UtcInstant | None
    paused_reason: str | None
    started_at: UtcInstant
    stopped_at: UtcInstant | None
    cancelled_reason: str | None = None
    calendar: str
    timezone: str | None = None
    priority: str | None
    tier: str | None
    policy: str
    timeline: list[Span]
    exempt: bool = False
    exemption_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict: instants as UTC ISO-8601 strings with a ``Z``."""
        return self.model_dump(mode="json")


class ExclusionMatch(MatchSpec):
    """An exclusion window's ticket match, plus the metrics it applies to (empty: all)."""

    metric: AnyOf = Field(default_factory=list)


@dataclass(frozen=True)
class ExclusionWindow:
    """A span (outage, maintenance, force majeure) during which matching clocks are paused."""

    start: dt.datetime
    end: dt.datetime
    reason: str
    match: Mapping[str, Any] | None = None
    criteria: ExclusionMatch = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("exclusion window bounds must carry a UTC offset")
        if self.end <= self.start:
            raise ValueError("an exclusion window must end after it starts")
        object.__setattr__(self, "criteria", ExclusionMatch.model_validate(dict(self.match or {})))

    @property
    def pause_reason(self) -> str:
        """The ``paused_reason`` clocks show during this window."""
        return f"exclusion:{self.reason}"
