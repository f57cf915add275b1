"""Write-back: escalation actions applied to Jira issues.

* ``comment``: a public comment, or an internal one (JSM ``sd.public.comment``
  property ``{internal: true}``, plus the connection's
  ``internal_comment_visibility`` role/group restriction when set, which is
  how Data Center without JSM hides a comment).
* ``labels``: *adds* the labels (``update.labels[].add``); labels people set
  by hand are left alone.
* ``priority``: a Jira priority name, or ``raise``: one step up the order of
  ``mapping.priority`` (listed highest first); already at the top -> no call.
* ``assign``: an accountId (Cloud) or username (Data Center), or an alias from
  ``mapping.assignees``; an empty assignee unassigns.

Retries and error mapping are :class:`JiraClient`'s: 429/5xx are retried,
then ``RetryableError``; 400/403/404 become ``PermanentError`` with Jira's text.
"""

from __future__ import annotations

from typing import Any

from integrations.base import PermanentError, WriteBackAction, WriteBackKind
from integrations.jira.client import JiraClient
from integrations.jira.config import JiraConnection


def raised_priority(conn: JiraConnection, current: str) -> str | None:
    """The Jira priority one step above ``current`` in the mapped order, or None at the top."""
    order = list(conn.mapping.priority)
    if current not in order:
        raise PermanentError(f"cannot raise priority {current!r}: it is not in the connection's priority mapping")
    index = order.index(current)
    return order[index - 1] if index > 0 else None


def comment_payload(conn: JiraConnection, body: str, public: bool) -> dict[str, Any]:
    """The ``POST /comment`` body for a public or internal comment."""
    payload: dict[str, Any] = {"body": body}
    if not public:
        payload["properties"] = [{"key": "sd.public.comment", "value": {"internal": True}}]
        if conn.internal_comment_visibility is not None:
            payload["visibility"] = conn.internal_comment_visibility.model_dump()
    return payload


def apply(conn: JiraConnection, client: JiraClient, action: WriteBackAction) -> None:
    """Apply one write-back action to ``action.ticket_key``."""
    key = action.ticket_key
    if action.kind is WriteBackKind.comment:
        if not action.body:
            raise PermanentError("a comment action needs a body")
        client.add_comment(key, comment_payload(conn, action.body, action.public))
    elif action.kind is WriteBackKind.labels:
        if not action.labels:
            raise PermanentError("a labels action needs at least one label")
        client.update_issue(key, {"update": {"labels": [{"add": label} for label in action.labels]}})
    elif action.kind is WriteBackKind.priority:
        target = action.priority
        if not target:
            raise PermanentError("a priority action needs a priority name or 'raise'")
        if target == "raise":
            current = ((client.issue(key, ["priority"]).get("fields") or {}).get("priority") or {}).get("name")
            target = raised_priority(conn, str(current))
            if target is None:
                return
        client.update_issue(key, {"fields": {"priority": {"name": target}}})
    elif action.kind is WriteBackKind.assign:
        user = conn.mapping.assignees.get(action.assignee or "", action.assignee) or None
        client.assign(key, user)
    else:  # pragma: no cover - exhaustive over WriteBackKind
        raise PermanentError(f"unsupported write-back action {action.kind}")
