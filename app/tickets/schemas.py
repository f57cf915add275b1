"""Request and response shapes of the tickets API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field

from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketEventRow, TicketRow

MAX_BATCH = 1000


def _as_list(body: Any) -> Any:
    return [body] if isinstance(body, dict) else body


# One event object or a list of up to ``MAX_BATCH``; errors name each event by its place (``[1].at``).
EventBatch = Annotated[
    list[NormalizedEvent],
    BeforeValidator(_as_list),
    Field(min_length=1, max_length=MAX_BATCH, description="One event, or a list of up to 1,000 events"),
]


class EventOutcome(BaseModel):
    source: str
    key: str
    id: str
    outcome: str = Field(description="`new` or `duplicate`")


class IngestOut(BaseModel):
    accepted: int = Field(description="Events that were new and are now in the log")
    duplicates: int = Field(description="Events already in the log (or repeated in the batch); nothing changed")
    events: list[EventOutcome]

    @classmethod
    def from_result(cls, result: Any) -> IngestOut:
        rows = [EventOutcome(source=e.source, key=e.key, id=e.id, outcome="new") for e in result.new]
        rows += [EventOutcome(source=e.source, key=e.key, id=e.id, outcome="duplicate") for e in result.duplicate]
        return cls(accepted=len(result.new), duplicates=len(result.duplicate), events=rows)


class TicketEventOut(BaseModel):
    event: dict[str, Any]
    received_at: datetime

    @classmethod
    def from_row(cls, row: TicketEventRow) -> TicketEventOut:
        return cls(event=row.body, received_at=row.received_at)


class TicketOut(BaseModel):
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
    deleted: bool


class ProjectionFailureOut(BaseModel):
    """Why a ticket's clocks are not current: its last projection failed, and when it is tried again."""

    error: str
    failures: int = Field(description="Attempts in a row that failed")
    retry_at: datetime | None

    @classmethod
    def of(cls, row: TicketRow) -> ProjectionFailureOut | None:
        if row.projection_error is None:
            return None
        return cls(error=row.projection_error, failures=row.projection_failures, retry_at=row.projection_retry_at)


class TicketSummaryOut(BaseModel):
    source: str
    key: str
    title: str | None
    status: str | None
    priority: str | None
    last_event_at: datetime
    projection_failure: ProjectionFailureOut | None

    @classmethod
    def of(cls, row: TicketRow) -> TicketSummaryOut:
        return cls(
            source=row.source,
            key=row.key,
            title=row.title,
            status=row.status,
            priority=row.priority,
            last_event_at=row.last_event_at,
            projection_failure=ProjectionFailureOut.of(row),
        )


class TicketPage(BaseModel):
    items: list[TicketSummaryOut]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null on the last")


# Cycles of each metric a ticket's status lists (a repeating metric gathers one per customer comment).
RECENT_CYCLES = 10


class CyclePage(BaseModel):
    items: list[dict[str, Any]] = Field(description="Clocks of one metric, newest cycle first, as last projected")
    next_before: int | None = Field(description="Pass back as `before` for the next page; null on the last")


class TicketStatusOut(BaseModel):
    ticket: TicketOut
    as_of: datetime
    policy: str | None
    policy_version: int | None
    clocks: list[dict[str, Any]] = Field(
        description="Each clock: metric, cycle, state, breached, met, target/limit/elapsed/remaining seconds, "
        "percent, due_at, target_at, warn_at, breached_at, paused_reason, timeline, exempt. Each metric's "
        f"latest {RECENT_CYCLES} cycles; earlier ones at `/api/v1/tickets/{{source}}/{{key}}/cycles`"
    )
    cycle_counts: dict[str, int] = Field(
        default_factory=dict, description="How many cycles each tracked metric has had (shown or not)"
    )
    exemptions: list[dict[str, Any]]
    projection_failure: ProjectionFailureOut | None = Field(
        default=None,
        description="Set when the ticket's last projection failed: the snapshot and clocks are as the last "
        "projection that worked left them, and the clocks lane retries it with a growing delay",
    )
