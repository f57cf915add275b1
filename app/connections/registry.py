"""Connection types: the document model and adapter each source contributes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from app.core.errors import ValidationProblem
from app.core.problems import errors_from_pydantic
from integrations.base import ConnectionSpec, TicketAdapter
from integrations.jira import JiraAdapter, JiraConnection
from integrations.servicenow import ServiceNowAdapter, ServiceNowConnection


@dataclass(frozen=True)
class ConnectionType:
    model: type[ConnectionSpec]
    adapter: Callable[[Any], TicketAdapter]


TYPES: dict[str, ConnectionType] = {
    "jira": ConnectionType(JiraConnection, JiraAdapter),
    "servicenow": ConnectionType(ServiceNowConnection, ServiceNowAdapter),
}


def parse_connection(doc: Mapping[str, Any]) -> ConnectionSpec:
    """A validated connection document; ``ValidationProblem`` naming each bad field."""
    kind = doc.get("type")
    if kind not in TYPES:
        raise ValidationProblem.single("type", f"must be one of {', '.join(TYPES)}")
    try:
        return TYPES[str(kind)].model.model_validate({**doc, "kind": "connection"})
    except ValidationError as exc:
        errors = errors_from_pydantic(exc.errors())
        raise ValidationProblem("invalid connection", errors) from None


def adapter_for(spec: ConnectionSpec) -> TicketAdapter:
    """The adapter that talks to the source ``spec`` describes."""
    return TYPES[spec.type].adapter(spec)
