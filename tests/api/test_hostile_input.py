"""Hostile or malformed input is refused at the door with a 422 naming the field, so that no stored
document or event can later make the board, the clock views or ingestion answer 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.core.db import JSON_INT_MAX, JSON_INT_MIN
from tests.api.factories import CALENDAR_YAML, apply, created, event

TICKET_ZONE_POLICY = """
kind: policy
name: local-hours
calendar: eu-support
targets:
  - {resolution: {target: 8h, timezone: ticket}}
"""


def zone_changed(**change: Any) -> dict[str, Any]:
    return event(id="z", type="field_changed", at="2025-01-06T10:00:00Z", field="timezone", **change)


def refused_fields(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (created(timezone="Mars/Olympus"), "ticket.timezone"),
        (created(timezone="../../etc/passwd"), "ticket.timezone"),
        (zone_changed(value="Mars/Olympus"), "value"),
        (zone_changed(to="Mars/Olympus"), "to"),
        (zone_changed(value=3), "value"),
    ],
)
def test_an_unknown_ticket_zone_is_refused_and_the_views_stay_up(
    client: TestClient, admin_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    apply(client, admin_headers, CALENDAR_YAML + "\n---\n" + TICKET_ZONE_POLICY)
    assert client.post("/api/v1/events", json=created(key="T-0"), headers=admin_headers).status_code == 200

    assert field in refused_fields(client.post("/api/v1/events", json=body, headers=admin_headers))

    for url in ("/board/data", "/api/v1/sla/at-risk", "/api/v1/clocks"):
        assert client.get(url, headers=admin_headers).status_code == 200, url


def test_a_known_ticket_zone_and_clearing_it_are_accepted(client: TestClient, admin_headers: dict[str, str]) -> None:
    apply(client, admin_headers, CALENDAR_YAML + "\n---\n" + TICKET_ZONE_POLICY)
    batch = [
        created(timezone="America/New_York"),
        zone_changed(value=None),
    ]
    assert client.post("/api/v1/events", json=batch, headers=admin_headers).status_code == 200
    assert client.get("/api/v1/clocks", headers=admin_headers).status_code == 200


def policy_doc(**overrides: Any) -> str:
    doc: dict[str, Any] = {"kind": "policy", "name": "edge", "targets": [{"resolution": {"target": "8h"}}]}
    return json.dumps({**doc, **overrides})


def apply_doc(client: TestClient, headers: dict[str, str], text: str) -> Any:
    return client.post("/api/v1/apply", content=text, headers=headers)


@pytest.mark.parametrize("order", [2**70, -(2**70), JSON_INT_MAX + 1, JSON_INT_MIN - 1])
def test_an_order_the_json_column_cannot_hold_is_refused(
    client: TestClient, admin_headers: dict[str, str], order: int
) -> None:
    assert "documents[0].order" in refused_fields(apply_doc(client, admin_headers, policy_doc(order=order)))
    assert client.post("/api/v1/events", json=created(), headers=admin_headers).status_code == 200


@pytest.mark.parametrize("order", [JSON_INT_MAX, JSON_INT_MIN])
def test_the_widest_order_survives_storage(client: TestClient, admin_headers: dict[str, str], order: int) -> None:
    assert apply_doc(client, admin_headers, policy_doc(order=order)).status_code == 200
    assert client.post("/api/v1/events", json=created(), headers=admin_headers).status_code == 200
    assert client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json()["policy"] == "edge"


@pytest.mark.parametrize(
    ("stored", "matches"),
    [
        ("Gold", True),
        ("gold", True),
        (["Silver", "Gold"], True),
        ({"value": "Gold"}, True),
        ([{"value": "Silver"}, {"value": "Gold"}], True),
        ("Silver", False),
        ([{"value": "Silver"}], False),
        ({"id": "10001"}, False),
    ],
)
def test_a_policy_may_match_jira_option_objects(
    client: TestClient, admin_headers: dict[str, str], stored: Any, matches: bool
) -> None:
    doc = policy_doc(match={"fields": {"cf": [{"value": "Gold"}, {"value": "Platinum", "id": "10002"}]}})
    assert apply_doc(client, admin_headers, doc).status_code == 200
    assert client.post("/api/v1/events", json=created(fields={"cf": stored}), headers=admin_headers).status_code == 200
    policy = client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json()["policy"]
    assert policy == ("edge" if matches else None)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"match": {"fields": {"cf": [{"id": "10001"}]}}}, "match.fields.cf"),
        ({"match": {"fields": {"cf": [["Gold"]]}}}, "match.fields.cf"),
        ({"metrics": {"resolution": {"pause_when": {"fields": {"cf": [{"a": 1}]}}}}}, "metrics.resolution.pause_when"),
    ],
)
def test_field_values_that_cannot_be_compared_are_refused(
    client: TestClient, admin_headers: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    fields = refused_fields(apply_doc(client, admin_headers, policy_doc(**overrides)))
    assert any(f.startswith(f"documents[0].{field}") for f in fields), fields
    assert client.post("/api/v1/events", json=created(fields={"cf": "Gold"}), headers=admin_headers).status_code == 200


@pytest.mark.parametrize("level", ["1" + "0" * 400 + "%", "100000000%", "36600d after"])
def test_an_escalation_past_the_engines_horizon_is_refused(
    client: TestClient, admin_headers: dict[str, str], level: str
) -> None:
    escalation = {"metric": "resolution", "at": level, "actions": [{"comment": "late"}]}
    response = apply_doc(client, admin_headers, policy_doc(escalations=[escalation]))
    assert "documents[0].escalations[0].at" in refused_fields(response)
    assert client.post("/api/v1/events", json=created(), headers=admin_headers).status_code == 200


def test_a_calendar_a_policy_uses_cannot_be_deleted(client: TestClient, admin_headers: dict[str, str]) -> None:
    apply(client, admin_headers, CALENDAR_YAML + "\n---\n" + TICKET_ZONE_POLICY)
    response = client.delete("/api/v1/calendars/eu-support", headers=admin_headers)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "local-hours" in response.json()["detail"]
    assert client.get("/api/v1/calendars/eu-support", headers=admin_headers).status_code == 200


@pytest.mark.parametrize("name", ["a/b", "a\x00b", "x" * 10_000, "", "x" * 65, "ünicode", "a b"])
def test_calendar_names_are_safe_slugs(client: TestClient, admin_headers: dict[str, str], name: str) -> None:
    doc = {"name": name, "timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}}
    fields = refused_fields(client.post("/api/v1/calendars", json=doc, headers=admin_headers))
    assert "name" in fields
    assert client.get("/api/v1/calendars", headers=admin_headers).json()[1:] == []


@pytest.mark.parametrize("name", ["eu-support", "a.b_C-9", "x" * 64])
def test_slug_calendar_names_are_accepted(client: TestClient, admin_headers: dict[str, str], name: str) -> None:
    doc = {"name": name, "timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}}
    assert client.post("/api/v1/calendars", json=doc, headers=admin_headers).status_code == 201
