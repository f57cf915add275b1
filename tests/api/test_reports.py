"""Compliance report: met vs breached, exempt breaches and excluded time counted apart."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from app.clocks import jobs
from app.core.db import Database
from tests.api.factories import created, event, setup_support
from tests.conftest import FakeClock

PERIOD = "from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z"


def test_compliance_counts_exemptions_and_exclusions_apart(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    setup_support(client, admin_headers)
    reply = {"type": "comment", "author_role": "agent", "public": True}
    client.post(
        "/api/v1/events",
        headers=admin_headers,
        json=[
            created(key="A"),
            event(key="A", id="r", at="2025-01-06T09:10:00Z", **reply),  # met (P1: 1h)
            created(key="B"),
            event(key="B", id="r", at="2025-01-06T11:00:00Z", **reply),  # breached
            created(key="C"),
            event(key="C", id="r", at="2025-01-06T12:00:00Z", **reply),  # breached, then exempted
        ],
    )
    client.post(
        "/api/v1/tickets/api/C/exemptions",
        json={"metric": "first_response", "reason": "wrong contact"},
        headers=admin_headers,
    )
    window = {"start": "2025-01-06T13:00:00Z", "end": "2025-01-06T14:00:00Z", "reason": "outage"}
    client.post("/api/v1/exclusions", json=window, headers=admin_headers)
    clock.set(clock.current.replace(hour=15))
    jobs.replay_requested(db, clock)

    response = client.get(f"/api/v1/reports/compliance?{PERIOD}&group_by=metric", headers=admin_headers)
    assert response.status_code == 200, response.text
    rows = {r["group"]["metric"]: r for r in response.json()}
    fr = rows["first_response"]
    assert (fr["met"], fr["breached"], fr["breached_exempt"]) == (1, 1, 1)
    assert fr["compliance_percent"] == 50.0
    assert rows["resolution"]["open"] == 3
    assert rows["resolution"]["excluded_seconds"] == 3 * 3600  # the outage paused three running clocks
    assert fr["excluded_seconds"] == 0  # every first response had stopped before it


def test_report_validation(client: TestClient, read_headers: dict[str, str]) -> None:
    bad = client.get(
        "/api/v1/reports/compliance?from=2025-01-07T00:00:00Z&to=2025-01-06T00:00:00Z", headers=read_headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "to"
    unknown = client.get(f"/api/v1/reports/compliance?{PERIOD}&group_by=colour", headers=read_headers)
    assert unknown.json()["errors"][0]["field"] == "group_by"
    assert client.get("/api/v1/reports/compliance", headers=read_headers).status_code == 422


def test_excluded_time_is_business_time_on_the_clocks_calendar(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    setup_support(client, admin_headers)
    # Friday 2025-01-10 14:00 UTC (15:00 Berlin); the outage runs to Monday 09:00 UTC (10:00 Berlin).
    client.post("/api/v1/events", headers=admin_headers, json=[created(key="W", at="2025-01-10T14:00:00Z")])
    window = {"start": "2025-01-10T14:00:00Z", "end": "2025-01-13T09:00:00Z", "reason": "datacentre move"}
    assert client.post("/api/v1/exclusions", json=window, headers=admin_headers).status_code == 201
    clock.set(datetime(2025, 1, 13, 12, tzinfo=UTC))
    jobs.replay_requested(db, clock)
    period = "from=2025-01-10T00:00:00Z&to=2025-01-11T00:00:00Z"
    rows = {
        r["group"]["metric"]: r
        for r in client.get(f"/api/v1/reports/compliance?{period}&group_by=metric", headers=admin_headers).json()
    }
    # 66 wall hours, of which business hours on Mon-Fri 09:00-17:00 Berlin: Friday 15:00-17:00 and
    # Monday 09:00-10:00, three hours per clock (first response and resolution).
    assert rows["first_response"]["excluded_seconds"] == 3 * 3600
    assert rows["resolution"]["excluded_seconds"] == 3 * 3600
