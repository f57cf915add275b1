"""Request and response bodies of ``/api/v1/webhooks`` and ``/api/v1/deliveries``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.policies.conditions import AnyOf

EVENT_TYPE_PATTERN = r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*)$"


class SubscriptionFilter(BaseModel):
    """Only events about tickets of these tiers / priorities (empty: all)."""

    model_config = ConfigDict(extra="forbid")

    tier: AnyOf = Field(default_factory=list)
    priority: AnyOf = Field(default_factory=list)


class SubscriptionIn(BaseModel):
    """A new subscription; ``secret`` is generated and shown once when left out."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, examples=["https://bot.example.com/sla"])
    event_types: list[str] = Field(min_length=1, examples=[["sla.warning", "sla.breached"]])
    secret: str | None = Field(default=None, description="`whsec_` + base64 of 16+ bytes")
    filter: SubscriptionFilter = Field(default_factory=SubscriptionFilter)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool = True

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return _check_types(value)


class SubscriptionPatch(BaseModel):
    """Fields to change; ``enabled: true`` re-enables an automatically disabled subscription."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, min_length=1)
    secret: str | None = None
    filter: SubscriptionFilter | None = None
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None
    disabled_reason: str | None = Field(default=None, max_length=500)

    @field_validator("event_types")
    @classmethod
    def _types(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_types(value)


def _check_types(value: list[str]) -> list[str]:
    bad = [t for t in value if not re.match(EVENT_TYPE_PATTERN, t)]
    if bad:
        raise ValueError(f"event types look like sla.warning (or * for all); refused: {', '.join(bad)}")
    return sorted(set(value))


class SubscriptionOut(BaseModel):
    """A subscription as shown after creation: the secret is never returned."""

    id: int
    url: str
    event_types: list[str]
    filter: dict[str, Any]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    """The creation response: carries the generated secret, this once (null when you supplied one)."""

    secret: str | None


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str | None
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    event_type: str
    subscription_id: int
    status: str = Field(description="pending, delivered or dead")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryDetail(DeliveryOut):
    event: dict[str, Any]
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
