"""Clock lists, at-risk, breached, exclusion windows and exemptions over REST."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.clocks import jobs
from app.core.db import Database
from app.escalations import jobs as escalation_jobs
from tests.api.factories import clocks_by_metric, created, event, setup_support
from tests.conftest import FakeClock


def _seed(client: TestClient, headers: dict[str, str], count: int) -> None:
    batch = [
        created(key=f"T-{i}", at=f"2025-01-06T09:{i:02d}:00Z", priority="P1" if i % 2 else "P3") for i in range(count)
    ]
    assert client.post("/api/v1/events", json=batch, headers=headers).status_code == 200


def test_clocks_sorted_by_due_and_paginated(client: TestClient, admin_headers: dict[str, str]) -> None:
    setup_support(client, admin_headers)
    _seed(client, admin_headers, 7)
    seen, cursor = [], None
    while True:
        url = "/api/v1/clocks?metric=resolution&limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=admin_headers).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7
    dues = [c["due_at"] for c in seen]
    assert dues == sorted(dues)
    p1 = client.get("/api/v1/clocks?metric=resolution&priority=P1", headers=admin_headers).json()["items"]
    assert {c["priority"] for c in p1} == {"P1"}
    assert client.get("/api/v1/clocks?cursor=garbage", headers=admin_headers).json()["errors"][0]["field"] == "cursor"


def test_at_risk_and_breached(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    setup_support(client, admin_headers)
    _seed(client, admin_headers, 2)  # T-1 is P1: first response due 1h after 09:01Z
    clock.set(clock.current.replace(hour=9, minute=45))
    risky = client.get("/api/v1/sla/at-risk?within=30m", headers=admin_headers).json()
    assert [(c["key"], c["metric"]) for c in risky] == [("T-1", "first_response")]
    assert risky[0]["remaining_seconds"] == 16 * 60
    clock.set(clock.current.replace(hour=10, minute=30))
    breached = client.get("/api/v1/sla/breached", headers=admin_headers).json()["items"]
    assert [(c["key"], c["metric"], c["breached"]) for c in breached] == [("T-1", "first_response", True)]
    assert breached[0]["remaining_seconds"] == -29 * 60
    # Not yet re-evaluated by the worker, it still reports the one breach instant: due_at + 1 s.
    assert breached[0]["breached_at"] == "2025-01-06T10:01:01Z"
    # The worker brings the stored row up to date at the due instant.
    assert escalation_jobs.scan(db, clock) >= 1
    stored = client.get("/api/v1/clocks?breached=true", headers=admin_headers).json()["items"]
    assert [c["key"] for c in stored] == ["T-1"]
    assert stored[0]["breached_at"] == "2025-01-06T10:01:01Z"  # one second past due_at, as the breach level
    bad = client.get("/api/v1/sla/at-risk?within=soon", headers=admin_headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "within"


def test_exclusion_window_pauses_matching_clocks(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    setup_support(client, admin_headers)
    client.post("/api/v1/events", json=[created(), created(key="T-9", tier="bronze")], headers=admin_headers)
    window = {
        "start": "2025-01-06T10:00:00Z",
        "end": "2025-01-06T11:00:00Z",
        "reason": "provider outage",
        "match": {"tier": ["gold"]},
    }
    made = client.post("/api/v1/exclusions", json=window, headers=admin_headers)
    assert made.status_code == 201
    assert jobs.replay_requested(db, clock) == 2
    clock.set(clock.current.replace(hour=12))
    gold = clocks_by_metric(client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json())["resolution"]
    bronze = clocks_by_metric(client.get("/api/v1/tickets/api/T-9", headers=admin_headers).json())["resolution"]
    assert gold["elapsed_seconds"] == 2 * 3600
    assert bronze["elapsed_seconds"] == 3 * 3600
    assert any(s["reason"] == "exclusion:provider outage" for s in gold["timeline"])
    backwards = client.post("/api/v1/exclusions", json={**window, "end": "2025-01-06T09:00:00Z"}, headers=admin_headers)
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "end"


def test_exemption_marks_the_clock_and_is_listed(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    client.post("/api/v1/events", json=created(), headers=admin_headers)
    clock.set(clock.current.replace(hour=11))
    body = {"metric": "first_response", "reason": "customer asked us to wait"}
    made = client.post("/api/v1/tickets/api/T-1/exemptions", json=body, headers=admin_headers)
    assert made.status_code == 201
    assert made.json()["author"].startswith("apikey:")
    fr = clocks_by_metric(client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json())["first_response"]
    assert fr["exempt"] is True
    assert fr["breached"] is True
    assert client.post("/api/v1/tickets/api/T-1/exemptions", json=body, headers=admin_headers).status_code == 409
    assert len(client.get("/api/v1/exemptions", headers=admin_headers).json()) == 1


def test_replay_endpoint_repairs(client: TestClient, admin_headers: dict[str, str]) -> None:
    setup_support(client, admin_headers)
    client.post(
        "/api/v1/events",
        json=[created(), event(id="c", type="comment", at="2025-01-06T09:05:00Z", author_role="customer", public=True)],
        headers=admin_headers,
    )
    response = client.post("/api/v1/tickets/api/T-1/replay", headers=admin_headers)
    assert response.status_code == 200
    assert clocks_by_metric(response.json())["first_response"]["state"] == "running"
