"""Hostile or malformed input is refused at the door with a 422 naming the field, so that no stored
document or event can later make the board, the clock views or ingestion answer 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

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
