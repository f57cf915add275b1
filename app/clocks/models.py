"""The clock projection: one row per ticket, policy version, metric and cycle.

Rows are derived from the event log by the pure engine and replaced on every
projection; ``due_at`` and ``next_action_at`` are stored and indexed so
"what breaches next" is an index range scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class ClockRow(Base):
    __tablename__ = "clocks"
    __table_args__ = (
        UniqueConstraint("ticket_id", "policy_version_id", "metric", "cycle"),
        Index("ix_clocks_state_due_at", "state", "due_at"),
        Index("ix_clocks_next_action_at", "next_action_at"),
        Index("ix_clocks_breached_at", "breached_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Searched through the unique constraint, which starts with it (no index of its own).
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("policy_versions.id"))
    policy: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[int]
    metric: Mapped[str] = mapped_column(String(50))
    cycle: Mapped[int]
    state: Mapped[str] = mapped_column(String(12))
    breached: Mapped[bool]
    met: Mapped[bool | None]
    exempt: Mapped[bool] = mapped_column(default=False)
    target_seconds: Mapped[int]
    limit_seconds: Mapped[int]
    # As of ``evaluated_at``; readers bring running clocks up to date with the calendar.
    elapsed_seconds: Mapped[int]
    due_at: Mapped[datetime | None]
    target_at: Mapped[datetime | None]
    warn_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    started_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(String(200))
    calendar: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Denormalised from the ticket so list filters need no join.
    source: Mapped[str] = mapped_column(String(100))
    ticket_key: Mapped[str] = mapped_column(String(200))
    priority: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(300))
    next_action_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReplayStateRow(Base):
    """A ticket's clock fold as the projection left it, so the next event resumes it instead of
    replaying the log (``app.clocks.replay_state``); valid only for the inputs it records."""

    __tablename__ = "replay_states"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    # The policy version it folded under (None: the ticket had none), the fold's format and the
    # configuration stamp (calendars, policies, windows, exemptions) at the time.
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"))
    fold_format: Mapped[int]
    config_stamp: Mapped[str] = mapped_column(String(500))
    # The newest ``ticket_events`` row folded in: later rows are the events still to feed.
    last_event_row: Mapped[int]
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The clock rows of the cycles the fold kept (the only ones a later event can change).
    clock_ids: Mapped[list[int]] = mapped_column(JSON)
    updated_at: Mapped[datetime]


# A clock row's states that count on: the rest (stopped, cancelled, superseded) are final.
OPEN_STATES = ("running", "paused")
# The states in which a breach is a verdict: a cancelled or superseded clock is neither met nor breached.
JUDGED_STATES = ("running", "paused", "stopped")
# Every count (reports, the board, lists of breaches, the ticket page) reads one clock per ticket, metric
# and cycle: the row that stands for it. A superseded row (its cycle moved to another policy version) is history.
STANDS = ClockRow.state != "superseded"
