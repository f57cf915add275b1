"""The ``type: servicenow`` connection document and its mapping rules.

Secrets are referenced only by environment-variable *name*; ``resolve_env``
reads them at the moment of use and nothing here stores, logs or returns a
secret value.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.tickets.events import StatusCategory
from integrations.base import ConnectionSpec, PermanentError

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"

# Incident state codes and the On Hold reason "Awaiting Caller": see
# shared/payloads/servicenow/SOURCES.md §5 (ansible-collections/servicenow.itsm
# PAYLOAD_FIELDS_MAPPING and SNDocs c_IncidentManagementStateModel.md).
# "3" (On Hold) maps to open here; it becomes ``waiting`` only with a waiting hold reason.
INCIDENT_STATES: dict[str, StatusCategory] = {
    "1": StatusCategory.new,
    "2": StatusCategory.open,
    "3": StatusCategory.open,
    "6": StatusCategory.resolved,
    "7": StatusCategory.closed,
    "8": StatusCategory.closed,
}
INCIDENT_STATE_LABELS: dict[str, str] = {
    "1": "New",
    "2": "In Progress",
    "3": "On Hold",
    "6": "Resolved",
    "7": "Closed",
    "8": "Canceled",
}


def resolve_env(name: str) -> str:
    """Read the secret held in environment variable ``name`` (never echoing its value)."""
    value = os.environ.get(name)
    if not value:
        raise PermanentError(f"environment variable {name} is not set")
    return value


class BasicAuth(BaseModel):
    """HTTP Basic credentials, by env-var name."""

    model_config = ConfigDict(extra="forbid")

    user_env: str = Field(pattern=_ENV_NAME)
    password_env: str = Field(pattern=_ENV_NAME)


class OAuthAuth(BasicAuth):
    """OAuth (ServiceNow ``/oauth_token.do``, password grant as pysnow's ``OAuthClient`` does), by env-var name."""

    client_id_env: str = Field(pattern=_ENV_NAME)
    client_secret_env: str = Field(pattern=_ENV_NAME)


class TierMapping(BaseModel):
    """Tier from one (possibly dot-walked) field, e.g. ``company.name`` or ``caller_id.vip``."""

    model_config = ConfigDict(extra="forbid")

    field: str | None = Field(default=None, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
    values: dict[str, str] = Field(default_factory=dict)
    default: str | None = None

    def resolve(self, raw: str | None) -> str | None:
        """The tier for a raw field value (the default when unmapped or empty)."""
        if raw and raw in self.values:
            return self.values[raw]
        return self.default


class ServiceNowMapping(BaseModel):
    """How ServiceNow values become SLA Tracker values."""

    model_config = ConfigDict(extra="forbid")

    priority: dict[str, str] = Field(default_factory=lambda: {str(n): f"P{n}" for n in range(1, 6)})
    tier: TierMapping = Field(default_factory=TierMapping)
    # state code -> category; None means the table's built-in default (only ``incident`` has one).
    state: dict[str, StatusCategory] | None = None
    state_labels: dict[str, str] | None = None
    # State codes meaning "on hold": waiting only when the hold reason is listed below.
    on_hold_states: list[str] = Field(default_factory=lambda: ["3"])
    hold_reason_field: str = "hold_reason"
    waiting_hold_reasons: list[str] = Field(default_factory=lambda: ["1"])
    # Reference to the customer (incident: caller_id; sc_req_item: requested_for; case: contact).
    customer_field: str = Field(default="caller_id", pattern=r"^[a-z0-9_]+$")
    # Journal authors (user_name) counted as ``system``: add the integration user here.
    system_users: list[str] = Field(default_factory=lambda: ["system"])
    # Further fields whose changes become ``field_changed`` events and snapshot ``fields``.
    fields: list[str] = Field(default_factory=list)

    def status_category(self, table: str, state: str, hold_reason: str) -> StatusCategory | None:
        """The category of ``state`` (refined by the hold reason), None if unmapped."""
        if state in self.on_hold_states and hold_reason in self.waiting_hold_reasons:
            return StatusCategory.waiting
        return self.states_for(table).get(state)

    def states_for(self, table: str) -> dict[str, StatusCategory]:
        """The state map in force for ``table``."""
        if self.state is not None:
            return self.state
        return INCIDENT_STATES if table == "incident" else {}

    def state_label(self, table: str, state: str) -> str:
        """A human label for a state code (the code itself when unknown)."""
        labels = (
            self.state_labels
            if self.state_labels is not None
            else (INCIDENT_STATE_LABELS if table == "incident" else {})
        )
        return labels.get(state, state)

    def map_priority(self, raw: str) -> str | None:
        """``"1"`` -> ``"P1"`` (the raw value when unmapped, None when empty)."""
        return self.priority.get(raw, raw) if raw else None


class ServiceNowConnection(ConnectionSpec):
    """A ServiceNow instance, one table, its mapping, and how pushes authenticate."""

    type: Literal["servicenow"] = "servicenow"
    auth: OAuthAuth | BasicAuth
    webhook_secret_env: str | None = Field(default=None, pattern=_ENV_NAME)
    webhook_token_env: str | None = Field(default=None, pattern=_ENV_NAME)
    table: str = Field(default="incident", pattern=r"^[a-z0-9_]+$")
    query: str | None = None
    mapping: ServiceNowMapping = Field(default_factory=ServiceNowMapping)
    sync_overlap_seconds: int = Field(default=300, ge=0, le=86400)
    page_size: int = Field(default=100, ge=1, le=10000)
    history_page_size: int = Field(default=1000, ge=1, le=10000)  # sys_audit / sys_journal_field rows per request
    max_retries: int = Field(default=4, ge=0, le=10)
    backoff_seconds: float = Field(default=1.0, ge=0)
    max_backoff_seconds: float = Field(default=60.0, ge=0)
    timeout_seconds: float = Field(default=60.0, gt=0)
    # Priority computed from impact x urgency (write-back changes those); None: true for incident.
    calculated_priority: bool | None = None

    @field_validator("query")
    @classmethod
    def _plain_filter(cls, value: str | None) -> str | None:
        # We append our own cursor filter and ordering: a ^NQ (OR of whole queries) would
        # escape the cursor condition, and an ORDERBY would break keyset paging.
        if value and ("^NQ" in value or "ORDERBY" in value):
            raise ValueError("must be a plain filter: no ^NQ and no ORDERBY (the sync orders by sys_updated_on)")
        return value or None

    @model_validator(mode="after")
    def _states_known(self) -> ServiceNowConnection:
        if self.table != "incident" and self.mapping.state is None:
            raise ValueError(f"mapping.state is required for table {self.table} (built-in states cover incident only)")
        return self

    def priority_is_calculated(self) -> bool:
        """Whether write-back must move impact/urgency instead of ``priority``."""
        return self.calculated_priority if self.calculated_priority is not None else self.table == "incident"

    def tracked_fields(self) -> list[str]:
        """Record fields whose history (sys_audit) becomes events."""
        base = ["state", self.mapping.hold_reason_field, "priority", "assigned_to", "assignment_group"]
        tier_base = self.tier_base_field()
        extra = [*self.mapping.fields, *([tier_base] if tier_base else [])]
        return list(dict.fromkeys([*base, *extra]))

    def tier_base_field(self) -> str | None:
        """The record field whose change changes the tier (``company`` for ``company.name``)."""
        return self.mapping.tier.field.split(".", 1)[0] if self.mapping.tier.field else None

    def record_fields(self) -> list[str]:
        """``sysparm_fields`` for ticket records: values, plus the dot-walked names we need."""
        customer = self.mapping.customer_field
        fields = [
            "sys_id",
            "number",
            "short_description",
            "opened_at",
            "sys_created_on",
            "sys_updated_on",
            "sys_mod_count",
            "impact",
            "urgency",
            customer,
            f"{customer}.user_name",
            *self.tracked_fields(),
        ]
        if self.mapping.tier.field:
            fields.append(self.mapping.tier.field)
        return list(dict.fromkeys(fields))
