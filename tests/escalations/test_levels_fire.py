"""Each escalation level kind fires at its instant on simulated time, exactly once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.clocks.models import ClockRow
from app.core.db import Database
from tests.conftest import FakeClock
from tests.escalations.helpers import (
    level_events,
    open_ticket,
    outbox,
    run_at,
    scan_until_idle,
    set_status,
    setup_policy,
    utc,
    writebacks,
)

Headers = dict[str, str]

# Monday 2025-01-06 09:00 Berlin. Resolution 8h business: due Tuesday 09:00 Berlin (a target that
# runs out at closing time is due at the next opening). First response 1h: due Monday 10:00 Berlin.
MONDAY_OPEN = "2025-01-06T08:00:00Z"


def test_every_level_kind_fires_at_its_instant_and_only_then(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="T-1", at=MONDAY_OPEN)

    run_at(db, clock, "2025-01-06T08:59:59Z")
    assert level_events(db) == []
    run_at(db, clock, "2025-01-06T09:00:00Z")  # first response due_at: still in time
    assert level_events(db) == []
    run_at(db, clock, "2025-01-06T09:00:01Z")  # one second past the limit
    assert level_events(db) == [("sla.breached", "first_response", "breach")]

    run_at(db, clock, "2025-01-06T11:59:59Z")
    assert len(level_events(db)) == 1
    run_at(db, clock, "2025-01-06T12:00:00Z")  # 50% of 8h = 13:00 Berlin
    assert level_events(db)[-1] == ("sla.warning", "resolution", "50%")

    run_at(db, clock, "2025-01-06T15:30:00Z")  # 30m before = 16:30 Berlin
    assert level_events(db)[-1] == ("sla.warning", "resolution", "30m before")
    assert [t.action["body"] for t in writebacks(db)] == ["Resolution due in 30 minutes"]

    run_at(db, clock, "2025-01-07T07:59:00Z")  # overnight: no business time passes
    assert len(level_events(db)) == 3
    run_at(db, clock, "2025-01-07T08:00:01Z")
    assert level_events(db)[-1] == ("sla.breached", "resolution", "breach")
    run_at(db, clock, "2025-01-07T09:00:00Z")  # wall 1h after due_at
    assert level_events(db)[-1] == ("sla.late", "resolution", "1h after")
    run_at(db, clock, "2025-01-07T10:00:00Z")  # business 2h after the limit
    assert level_events(db)[-1] == ("sla.escalated", "resolution", "2h after")

    for _ in range(3):
        run_at(db, clock, "2025-01-08T12:00:00Z")
    assert len(level_events(db)) == 6


def test_level_payload_carries_ticket_clock_and_level(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="T-9", at=MONDAY_OPEN)
    run_at(db, clock, "2025-01-06T12:00:00Z")
    [warning] = outbox(db, "sla.warning")
    payload = warning.payload
    assert payload["ticket"]["source"] == "api"
    assert payload["ticket"]["key"] == "T-9"
    assert payload["clock"]["metric"] == "resolution"
    assert payload["clock"]["cycle"] == 1
    assert payload["clock"]["state"] == "running"
    assert payload["clock"]["due_at"] == "2025-01-07T08:00:00Z"
    assert payload["level"]["instant"] == "2025-01-06T12:00:00Z"
    assert warning.clock_id == payload["clock"]["id"]


def test_weekend_moves_levels_to_monday(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    # Friday 15:00 Berlin: 2h of resolution on Friday, 4h (50%) reached Monday 11:00 Berlin.
    open_ticket(client, admin_headers, clock, key="W-1", at="2025-01-10T14:00:00Z")
    run_at(db, clock, "2025-01-11T12:00:00Z")
    run_at(db, clock, "2025-01-12T20:00:00Z")
    assert ("sla.warning", "resolution", "50%") not in level_events(db)
    run_at(db, clock, "2025-01-13T09:59:59Z")
    assert ("sla.warning", "resolution", "50%") not in level_events(db)
    run_at(db, clock, "2025-01-13T10:00:00Z")
    assert ("sla.warning", "resolution", "50%") in level_events(db)


def test_pause_shifts_the_level_by_the_paused_time(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="P-1", at=MONDAY_OPEN)
    set_status(client, admin_headers, clock, key="P-1", at="2025-01-06T09:00:00Z", category="waiting", n=1)
    set_status(client, admin_headers, clock, key="P-1", at="2025-01-06T11:00:00Z", category="open", n=2)
    run_at(db, clock, "2025-01-06T13:59:59Z")
    assert ("sla.warning", "resolution", "50%") not in level_events(db)
    run_at(db, clock, "2025-01-06T14:00:00Z")  # 50% = 4h of running time: 1h + 3h after resuming
    assert ("sla.warning", "resolution", "50%") in level_events(db)
    assert [e.type for e in outbox(db, "sla.paused", "sla.resumed")] == [
        "sla.paused",
        "sla.paused",
        "sla.resumed",
        "sla.resumed",
    ]


def test_next_action_at_points_at_the_next_unfired_level(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="N-1", at=MONDAY_OPEN)
    run_at(db, clock, "2025-01-06T12:00:00Z")
    with db.transaction(write=False) as session:
        resolution = session.scalars(select(ClockRow).where(ClockRow.metric == "resolution")).one()
    # The projection alone would wake at due_at (Tuesday); the unfired 30m-before level comes first.
    assert resolution.next_action_at == utc("2025-01-06T15:30:00Z")
    assert scan_until_idle(db, clock) == 0
