"""A ticket's status lists each metric's latest cycles; `/cycles` pages through all of them (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.tickets.schemas import RECENT_CYCLES
from tests.api.factories import CALENDAR_YAML, apply, created, event
from tests.conftest import FakeClock

POLICY = """
kind: policy
name: chat
calendar: eu-support
match: {source: [api]}
metrics:
  first_response: {start: [created], stop: [agent_public_comment]}
  resolution: {start: [created], stop: [resolved]}
  next_response: {}
targets:
  - {first_response: {target: 8h}, resolution: {target: 40h}, next_response: {target: 1h}}
"""

EXCHANGES = RECENT_CYCLES * 2 + 5
START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Berlin: inside business hours
EVERY = timedelta(minutes=10)
REPLY_AFTER = timedelta(minutes=3)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _conversation() -> list[dict[str, Any]]:
    """``created``, then EXCHANGES times: the customer writes, an agent answers 3 minutes later."""
    events = [created(at=_iso(START))]
    for n in range(1, EXCHANGES + 1):
        asked = START + n * EVERY
        events.append(event(id=f"q{n}", type="comment", at=_iso(asked), author_role="customer", public=True))
        events.append(event(id=f"a{n}", type="comment", at=_iso(asked + REPLY_AFTER), author_role="agent", public=True))
    return events


def _expected_cycle(number: int) -> dict[str, Any]:
    # All inside one business day, so each answered cycle counted exactly its 3 minutes.
    asked = START + number * EVERY
    return {
        "cycle": number,
        "state": "stopped",
        "started_at": _iso(asked),
        "stopped_at": _iso(asked + REPLY_AFTER),
        "elapsed_seconds": int(REPLY_AFTER.total_seconds()),
        "met": True,
    }


def _shape(clock: dict[str, Any]) -> dict[str, Any]:
    return {name: clock[name] for name in ("cycle", "state", "started_at", "stopped_at", "elapsed_seconds", "met")}


def _setup(client: TestClient, headers: dict[str, str], clock: FakeClock) -> None:
    apply(client, headers, CALENDAR_YAML + "\n---\n" + POLICY)
    clock.set(START + (EXCHANGES + 2) * EVERY)
    for piece in (_conversation()[:11], _conversation()[11:]):  # two posts: the second resumes the fold
        response = client.post("/api/v1/events", json=piece, headers=headers)
        assert response.status_code == 200, response.text


def test_the_status_lists_each_metrics_latest_cycles_and_counts_them_all(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    _setup(client, admin_headers, clock)
    latest = list(range(EXCHANGES - RECENT_CYCLES + 1, EXCHANGES + 1))
    for query in ("", f"?at={_iso(START + (EXCHANGES + 1) * EVERY)}"):  # stored fold, then a replay
        body = client.get(f"/api/v1/tickets/api/T-1{query}", headers=admin_headers).json()
        assert body["cycle_counts"] == {"first_response": 1, "resolution": 1, "next_response": EXCHANGES}
        shown = [c for c in body["clocks"] if c["metric"] == "next_response"]
        assert [_shape(c) for c in shown] == [_expected_cycle(n) for n in latest]
        assert [c["metric"] for c in body["clocks"]][:2] == ["first_response", "resolution"]


def test_cycles_pages_through_every_cycle_newest_first(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    _setup(client, admin_headers, clock)
    seen: list[dict[str, Any]] = []
    before: int | None = None
    pages = 0
    while True:
        query = "metric=next_response&limit=7" + ("" if before is None else f"&before={before}")
        response = client.get(f"/api/v1/tickets/api/T-1/cycles?{query}", headers=admin_headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += page["items"]
        pages += 1
        before = page["next_before"]
        if before is None:
            break
    assert pages == -(-EXCHANGES // 7)
    assert [_shape(c) for c in seen] == [_expected_cycle(n) for n in range(EXCHANGES, 0, -1)]
    assert all(c["timeline"][0]["kind"] == "running" for c in seen)


def test_cycles_answers_problems_for_an_unknown_ticket_and_a_bad_page(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    _setup(client, admin_headers, clock)
    missing = client.get("/api/v1/tickets/api/NOPE/cycles?metric=next_response", headers=admin_headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    bad = client.get("/api/v1/tickets/api/T-1/cycles?metric=next_response&before=0", headers=admin_headers)
    assert bad.status_code == 422
    assert "before" in bad.text
    unknown = client.get("/api/v1/tickets/api/T-1/cycles?metric=nothing", headers=admin_headers)
    assert unknown.json() == {"items": [], "next_before": None}
