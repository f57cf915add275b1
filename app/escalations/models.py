"""Fired escalation levels (the exactly-once record) and queued write-backs to the source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class FiredLevelRow(Base):
    """One escalation level reached by one clock cycle; the unique key makes firing insert-if-absent."""

    __tablename__ = "fired_levels"
    __table_args__ = (UniqueConstraint("clock_id", "cycle", "level_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: a replay may delete a clock that never happened; the record of what fired stays.
    clock_id: Mapped[int]
    cycle: Mapped[int]
    level_key: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[int] = mapped_column(index=True)
    instant: Mapped[datetime]
    fired_at: Mapped[datetime]


class WriteBackTaskRow(Base):
    """An escalation action to apply at the ticket's source (comment, assign, priority, labels)."""

    __tablename__ = "writeback_tasks"
    __table_args__ = (Index("ix_writeback_tasks_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    ticket_key: Mapped[str] = mapped_column(String(200))
    clock_id: Mapped[int]
    level_key: Mapped[str] = mapped_column(String(200))
    action: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending → done | failed | skipped
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
