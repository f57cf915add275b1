"""Exclusion windows and exemptions; both audited, never silently edited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class ExclusionRow(Base):
    """A window during which every matching clock is paused."""

    __tablename__ = "exclusions"

    id: Mapped[int] = mapped_column(primary_key=True)
    start: Mapped[datetime]
    end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    match: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class ExemptionRow(Base):
    """An excused clock: its breach does not count against compliance."""

    __tablename__ = "exemptions"
    __table_args__ = (UniqueConstraint("ticket_id", "metric", "cycle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    metric: Mapped[str] = mapped_column(String(50))
    cycle: Mapped[int]
    reason: Mapped[str] = mapped_column(String(500))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
