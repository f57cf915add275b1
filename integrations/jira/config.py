"""The Jira connection document (``kind: connection``, ``type: jira``).

Secrets are named, never held: ``auth`` and the webhook settings carry the
*names* of environment variables, read by :func:`read_secret` at the moment a
request is signed or checked. Nothing in this module stores, logs or returns a
secret value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.zones import IanaZone
from app.tickets.events import StatusCategory
from integrations.base import ConnectionSpec, PermanentError

# Jira's own statusCategory keys, and where they land by default.
JIRA_CATEGORY_DEFAULTS: dict[str, StatusCategory] = {
    "new": StatusCategory.new,
    "indeterminate": StatusCategory.open,
    "done": StatusCategory.resolved,
}

# The Cloud field that holds JSM organizations on most sites; overridable.
DEFAULT_ORGANIZATION_FIELD = "customfield_10002"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CloudAuth(_Strict):
    """Jira Cloud: an Atlassian account e-mail and an API token, both by env name."""

    user_env: str = Field(min_length=1)
    token_env: str = Field(min_length=1)


class DataCenterAuth(_Strict):
    """Jira Data Center: a personal access token (sent as a Bearer token), by env name."""

    pat_env: str = Field(min_length=1)


class TierMapping(_Strict):
    """Which issue field decides the tier, and how its values translate.

    ``field`` is a field id (``customfield_10050``) or ``organization`` (the JSM
    organizations field, a list of ``{name}`` objects, found at
    ``organization_field``). The first value found in ``values`` wins.
    """

    field: str = Field(min_length=1)
    organization_field: str = DEFAULT_ORGANIZATION_FIELD
    values: dict[str, str] = Field(default_factory=dict)
    default: str | None = None

    @property
    def field_id(self) -> str:
        return self.organization_field if self.field == "organization" else self.field


class CommentVisibility(_Strict):
    """A Jira comment ``visibility`` restriction (role or group)."""

    type: Literal["role", "group"]
    value: str = Field(min_length=1)


class JiraMapping(_Strict):
    """How Jira values become our priorities, tiers, categories and roles."""

    # Jira priority name -> our level, in order from highest to lowest: that
    # order is also what ``priority: raise`` climbs.
    priority: dict[str, str] = Field(default_factory=dict)
    tier: TierMapping | None = None
    # Status name -> our category; beats Jira's statusCategory.
    status_category: dict[str, StatusCategory] = Field(default_factory=dict)
    # Users in these groups are agents (when Jira tells us the groups).
    agent_groups: list[str] = Field(default_factory=list)
    # Explicit agent and system (automation) accounts: accountId or username.
    agents: list[str] = Field(default_factory=list)
    system_accounts: list[str] = Field(default_factory=list)
    # Extra fields copied into TicketSnapshot.fields and watched for changes.
    fields: list[str] = Field(default_factory=list)
    # Field id -> display name, for changelog items that carry no fieldId (Data Center).
    field_names: dict[str, str] = Field(default_factory=dict)
    # Write-back assignee aliases ("team-lead" -> accountId / username).
    assignees: dict[str, str] = Field(default_factory=dict)


class JiraConnection(ConnectionSpec):
    """A Jira Cloud or Data Center site we read tickets from and write back to."""

    type: Literal["jira"] = "jira"
    deployment: Literal["cloud", "datacenter"] = "cloud"
    auth: CloudAuth | DataCenterAuth
    webhook_token_env: str | None = None
    allow_unsigned_webhooks: bool = False
    query: str = ""
    mapping: JiraMapping = Field(default_factory=JiraMapping)
    sync_overlap_seconds: int = Field(default=120, ge=0)
    page_size: int = Field(default=50, ge=1, le=100)
    # JQL reads dates in the API user's profile time zone, at minute precision.
    jql_timezone: IanaZone = "UTC"
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    max_retry_delay_seconds: float = Field(default=60.0, ge=0)
    internal_comment_visibility: CommentVisibility | None = None
    # Cloud comment webhooks carry a 6-field issue without the reporter; look it up.
    enrich_comment_webhooks: bool = True

    @model_validator(mode="after")
    def _auth_matches_deployment(self) -> JiraConnection:
        if self.deployment == "cloud" and not isinstance(self.auth, CloudAuth):
            raise ValueError("a cloud connection needs auth {user_env, token_env}")
        if self.deployment == "datacenter" and not isinstance(self.auth, DataCenterAuth):
            raise ValueError("a datacenter connection needs auth {pat_env}")
        return self

    @field_validator("query")
    @classmethod
    def _no_order_by(cls, value: str) -> str:
        if "order by" in " ".join(value.lower().split()):
            raise ValueError("leave ORDER BY out of query: sync appends its own time window and order")
        return value

    @property
    def is_cloud(self) -> bool:
        return self.deployment == "cloud"


def read_secret(env_name: str, env: Mapping[str, str] | None = None) -> str:
    """Return the value of the environment variable ``env_name``, or raise naming only the variable."""
    value = (os.environ if env is None else env).get(env_name)
    if not value:
        raise PermanentError(f"environment variable {env_name} is not set", status=None)
    return value
