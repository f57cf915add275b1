"""The one small interface every ticket source implements.

Adapters only translate: webhook bodies and sync pages
become ``NormalizedEvent`` objects, and write-back actions become source API
calls. They know nothing of clocks or storage, return typed objects, and raise
``RetryableError`` (try again later) or ``PermanentError`` (do not retry).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from app.tickets.events import NormalizedEvent


class IntegrationError(Exception):
    """Base for adapter failures."""


class RetryableError(IntegrationError):
    """Transient failure (429, 5xx, timeout): retry, after ``retry_after`` seconds if given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(IntegrationError):
    """The source refused for good (4xx other than 429, bad mapping...): do not retry."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WebhookRejected(IntegrationError):
    """An inbound webhook failed authentication or could not be read."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


class SourceNeeded(IntegrationError):
    """``parse_webhook(..., offline=True)`` would have to call the source to finish this delivery."""


class ConnectionSpec(BaseModel):
    """Fields common to every connection document (``kind: connection``)."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(default="connection", pattern="^connection$")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    type: str
    base_url: str = Field(pattern=r"^https?://")
    webhook_secret_env: str | None = None
    poll_interval_seconds: int = Field(default=300, ge=10)


@dataclass
class SyncPage:
    """Events from one page of a sync, and the cursor to store once they are committed."""

    events: list[NormalizedEvent]
    cursor: str | None
    fetched: int = 0


class WriteBackKind(StrEnum):
    comment = "comment"
    assign = "assign"
    priority = "priority"
    labels = "labels"


@dataclass
class WriteBackAction:
    """A change to make at the source on behalf of an escalation."""

    kind: WriteBackKind
    ticket_key: str
    body: str | None = None
    public: bool = False
    assignee: str | None = None
    priority: str | None = None  # a source priority name, or "raise"
    labels: list[str] = field(default_factory=list)


class TicketAdapter(Protocol):
    """What the rest of the app needs from a source."""

    name: str

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        """Raise ``WebhookRejected`` unless the request is authentic."""

    def parse_webhook(self, headers: Mapping[str, str], body: Any, *, offline: bool = False) -> list[NormalizedEvent]:
        """Translate one webhook body into normalized events (possibly none). With ``offline``, raise
        ``SourceNeeded`` instead of calling the source (the caller is on an event loop)."""

    def sync(self, since: datetime | None) -> Iterator[SyncPage]:
        """Yield pages of events changed since ``since`` (all when None), oldest first."""

    def write_back(self, action: WriteBackAction) -> None:
        """Apply an escalation action at the source."""
