"""The normalized event: the one shape every source is translated into.

Adapters (Jira, ServiceNow, the generic REST endpoint) emit these; the event
log stores them; the clock engine replays them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.core.instants import AwareInstant
from app.core.zones import IanaZone, known_zone


class EventType(StrEnum):
    created = "created"
    status_changed = "status_changed"
    priority_changed = "priority_changed"
    assignee_changed = "assignee_changed"
    comment = "comment"
    field_changed = "field_changed"
    deleted = "deleted"


class StatusCategory(StrEnum):
    new = "new"
    open = "open"
    waiting = "waiting"
    resolved = "resolved"
    closed = "closed"


class AuthorRole(StrEnum):
    agent = "agent"
    customer = "customer"
    system = "system"


# The ticket's named snapshot fields, in the order the ``tickets`` table and the API list them;
# ``field_changed`` may set these directly, any other field name lands in the free-form ``fields`` map.
SNAPSHOT_FIELDS = (
    "title",
    "status",
    "status_category",
    "priority",
    "tier",
    "assignee",
    "project",
    "type",
    "timezone",
    "url",
)


class TicketSnapshot(BaseModel):
    """The ticket's state as the source saw it at the event (all optional)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(default=None, max_length=1000)
    status: str | None = Field(default=None, max_length=200)
    status_category: StatusCategory | None = None
    priority: str | None = Field(default=None, max_length=100)
    tier: str | None = Field(default=None, max_length=100)
    assignee: str | None = Field(default=None, max_length=300)
    project: str | None = Field(default=None, max_length=200)
    type: str | None = Field(default=None, max_length=200)
    timezone: IanaZone | None = Field(default=None, max_length=64, description="IANA zone of the customer")
    url: str | None = Field(default=None, max_length=2000, description="Link back to the ticket in its source")
    fields: dict[str, Any] = Field(default_factory=dict, description="Mapped custom fields")


class NormalizedEvent(BaseModel):
    """One change to one ticket, in source-independent form.

    ``id`` is the source's own event id (Jira changelog id, webhook identifier,
    ServiceNow ``sys_id``+``sys_mod_count``...) and is the dedupe key together
    with ``(source, key)``. ``at`` is when the change happened at the source,
    not when we heard of it.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    key: str = Field(min_length=1, max_length=200)
    id: str = Field(min_length=1, max_length=300)
    type: EventType
    at: AwareInstant
    ticket: TicketSnapshot | None = None
    # field_changed; declared before ``to`` and ``value`` so that their validators can see it
    field: str | None = Field(default=None, max_length=200)
    # status_changed / priority_changed / assignee_changed / field_changed
    to: str | None = Field(default=None, max_length=1000)
    to_category: StatusCategory | None = None
    from_: str | None = Field(default=None, alias="from", max_length=1000)
    value: Any = None
    # comment
    author: str | None = Field(default=None, max_length=300)
    author_role: AuthorRole | None = None
    public: bool | None = None

    @field_validator("to", "value")
    @classmethod
    def _known_zone_when_setting_timezone(cls, value: Any, info: ValidationInfo) -> Any:
        # A field_changed of the ticket's zone sets what the snapshot's ``timezone`` holds: the same rule.
        if info.data.get("field") != "timezone" or value is None:
            return value
        if not isinstance(value, str):
            raise ValueError("a time zone is a string such as Europe/Berlin")
        return known_zone(value)

    @model_validator(mode="after")
    def _type_needs(self) -> NormalizedEvent:
        missing: list[str] = []
        if self.type is EventType.status_changed and self.to is None and self.to_category is None:
            missing.append("to")
        if self.type is EventType.priority_changed and self.to is None:
            missing.append("to")
        if self.type is EventType.field_changed and not self.field:
            missing.append("field")
        if self.type is EventType.comment and self.author_role is None:
            missing.append("author_role")
        if missing:
            raise ValueError(f"a {self.type.value} event needs {', '.join(missing)}")
        return self

    def dedupe_key(self) -> tuple[str, str, str]:
        return (self.source, self.key, self.id)
