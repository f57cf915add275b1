"""Response shapes of the tickets API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketEventRow

EVENTS_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/NormalizedEvent"},
                        {"type": "array", "items": {"$ref": "#/components/schemas/NormalizedEvent"}, "maxItems": 1000},
                    ]
                },
                "example": {
                    "source": "api",
                    "key": "T-1",
                    "id": "e1",
                    "type": "created",
                    "at": "2025-01-06T09:00:00Z",
                    "ticket": {"priority": "P1", "tier": "gold", "status": "Open", "status_category": "open"},
                },
            }
        },
    },
    # The body is read by the route itself, so FastAPI documents none of its refusals: they are listed here.
    "responses": {
        "415": {
            "description": "The body was not sent as `application/json`; nothing stored",
            "content": {"application/problem+json": {}},
        },
        "422": {
            "description": "Not JSON, or an event is invalid (`errors[]` names each field); nothing stored",
            "content": {"application/problem+json": {}},
        },
    },
}


def add_event_schemas(openapi: dict[str, Any]) -> None:
    """Put ``NormalizedEvent`` (and the schemas it uses) into the document's components, where
    ``EVENTS_BODY_DOC`` points: FastAPI only collects the schemas of declared parameters and models."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    if "NormalizedEvent" in schemas:  # FastAPI keeps the document it generated once: so are these
        return
    event = NormalizedEvent.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in event.pop("$defs", {}).items():
        schemas.setdefault(name, definition)
    schemas.setdefault("NormalizedEvent", event)


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


class TicketStatusOut(BaseModel):
    ticket: TicketOut
    as_of: datetime
    policy: str | None
    policy_version: int | None
    clocks: list[dict[str, Any]] = Field(
        description="Each clock: metric, cycle, state, breached, met, target/limit/elapsed/remaining seconds, "
        "percent, due_at, target_at, warn_at, breached_at, paused_reason, timeline, exempt"
    )
    exemptions: list[dict[str, Any]]


__all__ = ["NormalizedEvent"]
