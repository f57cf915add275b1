"""Tickets (current snapshot) and the append-only log of normalized events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class TicketRow(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("source", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str | None] = mapped_column(String(200))
    status_category: Mapped[str | None] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(300))
    project: Mapped[str | None] = mapped_column(String(200))
    type: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str | None] = mapped_column(String(64))
    url: Mapped[str | None] = mapped_column(String(2000))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Instant of the source's ``created`` event; None while only later events have arrived.
    opened_at: Mapped[datetime | None]
    last_event_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(default=False)
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("policy_versions.id"), index=True)
    updated_at: Mapped[datetime]
    # Set when something outside the ticket's own events changed (an exclusion window, a calendar,
    # a policy migration): the worker replays these tickets in batches.
    replay_requested_at: Mapped[datetime | None] = mapped_column(index=True)


@dataclass(slots=True, eq=False)
class TicketRecord:
    """A ``tickets`` row read without the ORM (the ingestion writer's tickets): the same attributes as
    ``TicketRow``, in the table's column order. Loading a batch's tickets as ORM objects cost about as
    much as all the other reads of the batch together; the projection writes them back through
    ``app.core.bulk`` anyway (ADR 9)."""

    id: int
    source: str
    key: str
    title: str | None
    status: str | None
    status_category: str | None
    priority: str | None
    tier: str | None
    assignee: str | None
    project: str | None
    type: str | None
    timezone: str | None
    url: str | None
    fields: dict[str, Any]
    opened_at: datetime | None
    last_event_at: datetime
    deleted: bool
    policy_version_id: int | None
    updated_at: datetime
    replay_requested_at: datetime | None

    def __post_init__(self) -> None:
        self.deleted = bool(self.deleted)  # SQLite's driver gives 0/1


# What the projection takes: a ticket loaded by the ORM or read as a record.
Ticket: TypeAlias = "TicketRow | TicketRecord"


class TicketEventRow(Base):
    """One normalized event as received; unique per (source, key, source event id), never updated."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("source", "key", "event_id"),
        Index("ix_ticket_events_ticket_at", "ticket_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    source: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(300))
    type: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime]
