"""Escalation write-back: comments/work notes, (re)assignment, priority, via Table API PATCH.

On ``incident`` the priority is *calculated* from impact and urgency (a PATCH of
``priority`` alone is recalculated away), so we change impact/urgency. We assume the
out-of-the-box Priority Data Lookup matrix, where ``priority = impact + urgency - 1``::

                 urgency 1  urgency 2  urgency 3
    impact 1         1          2          3
    impact 2         2          3          4
    impact 3         3          4          5

"raise" moves one step up (urgency first, then impact). A named target picks the pair
nearest to the current one. Tables whose priority is not calculated get ``priority``.
"""

from __future__ import annotations

import re
from typing import Any

from integrations.base import PermanentError, WriteBackAction, WriteBackKind
from integrations.servicenow.client import TableClient
from integrations.servicenow.config import ServiceNowConnection

SYS_ID = re.compile(r"^[0-9a-f]{32}$")
GROUP_PREFIX = "group:"


def _code(raw: Any, default: int = 3) -> int:
    text = str(raw or "")
    return min(3, max(1, int(text))) if text.isdigit() else default


def impact_urgency_for(priority: int, impact: int, urgency: int) -> tuple[int, int]:
    """The (impact, urgency) pair giving ``priority`` (1..5) nearest to the current pair."""
    target = min(5, max(1, priority))
    pairs = [(i, u) for i in (1, 2, 3) for u in (1, 2, 3) if i + u - 1 == target]
    return min(pairs, key=lambda pair: (abs(pair[0] - impact) + abs(pair[1] - urgency), pair[0] != impact))


def raised(impact: int, urgency: int) -> tuple[int, int] | None:
    """One priority step up (urgency first, then impact), None when already at 1."""
    if urgency > 1:
        return impact, urgency - 1
    if impact > 1:
        return impact - 1, urgency
    return None


class WriteBack:
    """Applies ``WriteBackAction`` s to one connection's table."""

    def __init__(self, conn: ServiceNowConnection, client: TableClient) -> None:
        self._conn = conn
        self._client = client

    def apply(self, action: WriteBackAction) -> dict[str, Any] | None:
        """Apply ``action``; returns the PATCH body sent (None when nothing had to change)."""
        record = self._find(action.ticket_key)
        body = self._body(action, record)
        if body is None:
            return None
        self._client.patch(self._conn.table, record["sys_id"], body)
        return body

    def _find(self, number: str) -> dict[str, Any]:
        page = self._client.get_page(
            self._conn.table, f"number={number}", ["sys_id", "number", "priority", "impact", "urgency"], 2, 0
        )
        if not page.rows:
            raise PermanentError(f"ServiceNow {self._conn.name}: no {self._conn.table} numbered {number}", status=404)
        if len(page.rows) > 1:  # numbers are not unique in ServiceNow (seen in real data)
            raise PermanentError(f"ServiceNow {self._conn.name}: several records numbered {number}", status=409)
        return page.rows[0]

    def _body(self, action: WriteBackAction, record: dict[str, Any]) -> dict[str, Any] | None:
        if action.kind is WriteBackKind.comment:
            if not action.body:
                raise PermanentError("a comment write-back needs a body")
            return {"comments" if action.public else "work_notes": action.body}
        if action.kind is WriteBackKind.assign:
            return self._assignment(action.assignee)
        if action.kind is WriteBackKind.priority:
            return self._priority(action.priority, record)
        raise PermanentError(f"ServiceNow write-back does not support {action.kind.value}")

    @staticmethod
    def _assignment(assignee: str | None) -> dict[str, Any]:
        if not assignee:
            raise PermanentError("an assign write-back needs an assignee (user sys_id, or group:<sys_id>)")
        field, value = (
            ("assignment_group", assignee[len(GROUP_PREFIX) :])
            if assignee.startswith(GROUP_PREFIX)
            else ("assigned_to", assignee)
        )
        if not SYS_ID.match(value):
            raise PermanentError(f"{field} must be a 32-character sys_id")
        return {field: value}

    def _priority(self, wanted: str | None, record: dict[str, Any]) -> dict[str, Any] | None:
        current = _code(record.get("priority"), default=5)
        if wanted == "raise":
            target = current - 1
        else:
            codes = [code for code, name in self._conn.mapping.priority.items() if name == wanted]
            code = codes[0] if codes else (wanted or "")
            if not code.isdigit():
                raise PermanentError(f"unknown priority {wanted!r} for ServiceNow {self._conn.name}")
            target = int(code)
        if target < 1 or target == current:
            return None
        if not self._conn.priority_is_calculated():
            return {"priority": str(target)}
        impact, urgency = _code(record.get("impact")), _code(record.get("urgency"))
        pair = raised(impact, urgency) if wanted == "raise" else impact_urgency_for(target, impact, urgency)
        if pair is None:
            return None
        return {"impact": str(pair[0]), "urgency": str(pair[1])}
