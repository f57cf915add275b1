"""Bitemporal reads: ``?at=`` says when, ``?known_at=`` which events the service had received by then.

A P1 first response (1 business hour, Monday 09:00-17:00 Berlin) answered at 09:30 UTC, but the
reply only reaches the service at 11:00 UTC: until then the service knew a breached clock.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.factories import created, event, setup_support
from tests.conftest import FakeClock

REPLY = {"type": "comment", "author_role": "agent", "public": True}


def _first_response(body: dict[str, object]) -> dict[str, object]:
    clocks = body["clocks"]
    assert isinstance(clocks, list)
    return next(c for c in clocks if c["metric"] == "first_response")


def test_known_at_leaves_out_events_received_later(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    clock.set(clock.current.replace(hour=9, minute=0))
    client.post("/api/v1/events", json=[created(key="L", at="2025-01-06T09:00:00Z")], headers=admin_headers)
    clock.set(clock.current.replace(hour=11, minute=0))
    late = event(key="L", id="reply", at="2025-01-06T09:30:00Z", **REPLY)
    client.post("/api/v1/events", json=[late], headers=admin_headers)
    clock.set(clock.current.replace(hour=12, minute=0))

    then = client.get("/api/v1/tickets/api/L?known_at=2025-01-06T10:30:00Z", headers=admin_headers)
    assert then.status_code == 200, then.text
    known_then = _first_response(then.json())
    # 10:30 UTC: 90 business minutes with no reply known, against a 60-minute limit.
    assert (known_then["state"], known_then["breached"], known_then["elapsed_seconds"]) == ("running", True, 90 * 60)

    now_known = _first_response(
        client.get("/api/v1/tickets/api/L?at=2025-01-06T10:30:00Z", headers=admin_headers).json()
    )
    assert (now_known["state"], now_known["met"], now_known["elapsed_seconds"]) == ("stopped", True, 30 * 60)

    future = client.get("/api/v1/tickets/api/L?known_at=2030-01-01T00:00:00Z", headers=admin_headers)
    assert (future.status_code, future.json()["errors"][0]["field"]) == (422, "known_at")
