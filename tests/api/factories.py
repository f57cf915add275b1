"""Small keyword-only factories for API tests: documents and events."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

CALENDAR_YAML = """
name: eu-support
timezone: Europe/Berlin
hours:
  mon: ["09:00-17:00"]
  tue: ["09:00-17:00"]
  wed: ["09:00-17:00"]
  thu: ["09:00-17:00"]
  fri: ["09:00-17:00"]
"""

POLICY_YAML = """
kind: policy
name: support
calendar: eu-support
match: {source: [api]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment], pause_when: {status_category: [waiting]}}
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}, on_reopen: resume}
targets:
  - {priority: P1, first_response: {target: 1h}, resolution: {target: 8h}}
  - {first_response: {target: 8h, warn: 80%}, resolution: {target: 40h}}
"""


def apply(client: TestClient, headers: dict[str, str], text: str, *, dry_run: bool = False) -> Any:
    response = client.post(f"/api/v1/apply?dry_run={str(dry_run).lower()}", content=text, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def setup_support(client: TestClient, headers: dict[str, str]) -> None:
    apply(client, headers, CALENDAR_YAML + "\n---\n" + POLICY_YAML)


def event(*, key: str = "T-1", id: str, type: str, at: str, source: str = "api", **extra: Any) -> dict[str, Any]:
    return {"source": source, "key": key, "id": id, "type": type, "at": at, **extra}


def created(
    *, key: str = "T-1", at: str = "2025-01-06T09:00:00Z", priority: str = "P1", **ticket: Any
) -> dict[str, Any]:
    snapshot = {
        "priority": priority,
        "tier": "gold",
        "status": "Open",
        "status_category": "open",
        "project": "SUP",
        "type": "Incident",
        **ticket,
    }
    return event(key=key, id=f"{key}-created", type="created", at=at, ticket=snapshot)


def clocks_by_metric(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["metric"]: c for c in body["clocks"] if c["cycle"] == 1}
