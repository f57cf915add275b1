"""Clocks: the pure engine that replays a ticket's events into SLA clock states."""

from app.clocks.evaluate import evaluate
from app.clocks.measure import instant_at_elapsed
from app.clocks.resolver import BusinessCalendarLike, ZonedCalendarFactory
from app.clocks.state import ClockState, ClockStatus, ExclusionWindow, Span

__all__ = [
    "BusinessCalendarLike",
    "ClockState",
    "ClockStatus",
    "ExclusionWindow",
    "Span",
    "ZonedCalendarFactory",
    "evaluate",
    "instant_at_elapsed",
]
