"""Policy migrations through the REST API: only open clocks move, finished ones keep their version and
verdict, every count sees one clock per ticket, metric and cycle, and migrations are serialized.

The expected figures are worked out here from the policy texts and the event times, not read back
from the service: under version 1 a P1 first response is due within 1 business hour, under version 2
within 20 minutes; the calendar counts Monday 09:00-17:00 Berlin (08:00-16:00 UTC in January).
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.clocks import jobs
from app.clocks.models import ClockRow
from app.core.db import Database
from tests.api.factories import POLICY_YAML, apply, created, event, setup_support
from tests.conftest import FakeClock

STRICTER = POLICY_YAML.replace(
    "{priority: P1, first_response: {target: 1h}, resolution: {target: 8h}}",
    "{priority: P1, first_response: {target: 20m}, resolution: {target: 4h}}",
)
REPLY = {"type": "comment", "author_role": "agent", "public": True}
PERIOD = "from=2025-01-06T00:00:00Z&to=2025-01-07T00:00:00Z"


def _three_tickets_then_stricter_version(client: TestClient, headers: dict[str, str], clock: FakeClock) -> None:
    setup_support(client, headers)
    batch = [
        created(key="A"),
        event(key="A", id="r", at="2025-01-06T09:30:00Z", **REPLY),  # 30 min: met under v1, late under v2
        created(key="B"),
        event(key="B", id="r", at="2025-01-06T10:30:00Z", **REPLY),  # 90 min: breached under both
        created(key="C"),  # no reply yet: its first response is still open at the migration
    ]
    assert client.post("/api/v1/events", json=batch, headers=headers).status_code in (200, 202)
    apply(client, headers, STRICTER)
    clock.set(clock.current.replace(hour=10, minute=45))


def _clock(body: dict[str, Any], metric: str) -> dict[str, Any]:
    (found,) = [c for c in body["clocks"] if c["metric"] == metric and c["cycle"] == 1]
    return found


def test_migration_moves_open_clocks_and_keeps_finished_verdicts(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    _three_tickets_then_stricter_version(client, admin_headers, clock)
    moved = client.post("/api/v1/policies/support/migrate", json={"reason": "new contract"}, headers=admin_headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["tickets"] == 3  # every ticket still has an open resolution clock
    jobs.replay_requested(db, clock)

    a = client.get("/api/v1/tickets/api/A", headers=admin_headers).json()
    assert a["policy_version"] == 2
    first = _clock(a, "first_response")
    assert (first["policy_version"], first["state"], first["met"], first["target_seconds"]) == (
        1,
        "stopped",
        True,
        3600,
    )
    assert _clock(a, "resolution")["policy_version"] == 2
    assert _clock(a, "resolution")["target_seconds"] == 4 * 3600
    c = _clock(client.get("/api/v1/tickets/api/C", headers=admin_headers).json(), "first_response")
    # Open at the migration: judged under v2 from its start, 105 business minutes against 20.
    assert (c["policy_version"], c["target_seconds"], c["breached"]) == (2, 1200, True)

    report = client.get(f"/api/v1/reports/compliance?{PERIOD}&group_by=metric", headers=admin_headers).json()
    rows = {r["group"]["metric"]: r for r in report}
    assert (rows["first_response"]["clocks"], rows["first_response"]["met"], rows["first_response"]["breached"]) == (
        3,
        1,
        2,
    )
    assert (rows["resolution"]["clocks"], rows["resolution"]["open"], rows["resolution"]["cancelled"]) == (3, 3, 0)

    breached = client.get("/api/v1/sla/breached", headers=admin_headers).json()["items"]
    assert sorted((b["key"], b["metric"]) for b in breached) == [("B", "first_response"), ("C", "first_response")]

    with db.transaction(write=False) as session:
        per_cycle = session.execute(
            select(ClockRow.ticket_key, ClockRow.metric, ClockRow.cycle, func.count())
            .where(ClockRow.state != "superseded")
            .group_by(ClockRow.ticket_key, ClockRow.metric, ClockRow.cycle)
        ).all()
        superseded = session.scalar(select(func.count()).where(ClockRow.state == "superseded"))
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "policy.migrate")).one()
    assert sorted((key, metric, n) for key, metric, _, n in per_cycle) == [
        (key, metric, 1) for key in "ABC" for metric in ("first_response", "resolution")
    ]
    assert superseded == 4  # the three v1 resolution clocks and C's v1 first response
    assert entry.detail["tickets"] == [{"source": "api", "key": key} for key in "ABC"]
    assert entry.detail["reason"] == "new contract"


def test_a_later_event_leaves_a_finished_cycle_on_its_version(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    _three_tickets_then_stricter_version(client, admin_headers, clock)
    client.post("/api/v1/policies/support/migrate", json={"reason": "new contract"}, headers=admin_headers)
    jobs.replay_requested(db, clock)
    later = event(key="A", id="r2", at="2025-01-06T10:50:00Z", **REPLY)
    assert client.post("/api/v1/events", json=[later], headers=admin_headers).status_code in (200, 202)
    jobs.replay_requested(db, clock)
    first = _clock(client.get("/api/v1/tickets/api/A", headers=admin_headers).json(), "first_response")
    assert (first["policy_version"], first["met"]) == (1, True)


def test_a_second_migration_waits_for_the_first(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    _three_tickets_then_stricter_version(client, admin_headers, clock)
    first = client.post("/api/v1/policies/support/migrate", json={"reason": "one"}, headers=admin_headers)
    assert first.status_code == 200
    again = client.post("/api/v1/policies/support/migrate", json={"reason": "two"}, headers=admin_headers)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    jobs.replay_requested(db, clock)
    done = client.post("/api/v1/policies/support/migrate", json={"reason": "two"}, headers=admin_headers)
    assert (done.status_code, done.json()["tickets"]) == (200, 0)
    body = client.get("/api/v1/tickets/api/C", headers=admin_headers).json()
    assert body["policy_version"] == 2


def test_moving_back_to_an_older_version_needs_allow_downgrade(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    _three_tickets_then_stricter_version(client, admin_headers, clock)
    client.post("/api/v1/policies/support/migrate", json={"reason": "new contract"}, headers=admin_headers)
    jobs.replay_requested(db, clock)
    refused = client.post(
        "/api/v1/policies/support/migrate", json={"to_version": 1, "reason": "oops"}, headers=admin_headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "to_version"
    back = client.post(
        "/api/v1/policies/support/migrate",
        json={"to_version": 1, "reason": "the new contract was signed by mistake", "allow_downgrade": True},
        headers=admin_headers,
    )
    assert (back.status_code, back.json()["tickets"]) == (200, 3)
    jobs.replay_requested(db, clock)
    c = _clock(client.get("/api/v1/tickets/api/C", headers=admin_headers).json(), "first_response")
    # C's first response is still open, so it moves back and is judged under v1 again: 105 minutes
    # against one hour. A's stays the v1 verdict it stopped with.
    assert (c["policy_version"], c["target_seconds"], c["breached"]) == (1, 3600, True)
    a = _clock(client.get("/api/v1/tickets/api/A", headers=admin_headers).json(), "first_response")
    assert (a["policy_version"], a["met"]) == (1, True)
    with db.transaction(write=False) as session:
        standing = session.execute(
            select(ClockRow.ticket_key, ClockRow.metric, func.count())
            .where(ClockRow.state != "superseded")
            .group_by(ClockRow.ticket_key, ClockRow.metric)
        ).all()
    assert {n for _, _, n in standing} == {1}


def test_breached_pages_newest_first_within_a_window(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    setup_support(client, admin_headers)
    # Four P1 tickets opened an hour apart: each first response breaches one business hour and a
    # second after its start (09:00:01, 10:00:01, 11:00:01, 12:00:01 UTC, Monday 10:00-13:00 Berlin).
    opened = [created(key=f"K{n}", at=f"2025-01-06T{8 + n:02d}:00:00Z") for n in range(4)]
    assert client.post("/api/v1/events", json=opened, headers=admin_headers).status_code in (200, 202)
    clock.set(clock.current.replace(hour=14))
    window = "since=2025-01-06T10:00:01Z&until=2025-01-06T12:00:01Z"
    first = client.get(f"/api/v1/sla/breached?{window}&limit=1", headers=admin_headers).json()
    assert [(c["key"], c["breached_at"]) for c in first["items"]] == [("K2", "2025-01-06T11:00:01Z")]
    second = client.get(
        f"/api/v1/sla/breached?{window}&limit=1&cursor={first['next_cursor']}", headers=admin_headers
    ).json()
    assert [(c["key"], c["breached_at"]) for c in second["items"]] == [("K1", "2025-01-06T10:00:01Z")]
    assert second["next_cursor"] is None
    everything = client.get("/api/v1/sla/breached", headers=admin_headers).json()["items"]
    assert [c["key"] for c in everything if c["metric"] == "first_response"] == ["K3", "K2", "K1", "K0"]
    bad = client.get("/api/v1/sla/breached?cursor=nonsense", headers=admin_headers)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "cursor")
    backwards = client.get(
        "/api/v1/sla/breached?since=2025-01-07T00:00:00Z&until=2025-01-06T00:00:00Z", headers=admin_headers
    )
    assert (backwards.status_code, backwards.json()["errors"][0]["field"]) == (422, "until")
