"""Clocks met, paused or cancelled before a level never fire it; late events correct fired levels."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.db import Database
from tests.api.factories import event
from tests.conftest import FakeClock
from tests.escalations.helpers import (
    fired,
    level_events,
    open_ticket,
    outbox,
    post,
    run_at,
    set_status,
    setup_policy,
    writebacks,
)

Headers = dict[str, str]
MONDAY_OPEN = "2025-01-06T08:00:00Z"


def _reply(key: str, at: str) -> dict[str, object]:
    return event(key=key, id=f"{key}-reply", type="comment", at=at, author_role="agent", public=True)


def test_met_before_the_instant_never_fires(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="M-1", at=MONDAY_OPEN)
    post(client, admin_headers, clock, _reply("M-1", "2025-01-06T08:40:00Z"))
    run_at(db, clock, "2025-01-06T10:00:00Z")
    assert ("sla.breached", "first_response", "breach") not in level_events(db)
    [met] = outbox(db, "sla.met")
    assert met.payload["clock"]["metric"] == "first_response"
    assert met.payload["clock"]["met"] is True


def test_paused_across_the_instant_does_not_fire_until_time_really_runs_out(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="P-2", at=MONDAY_OPEN)
    set_status(client, admin_headers, clock, key="P-2", at="2025-01-06T08:30:00Z", category="waiting", n=1)
    run_at(db, clock, "2025-01-06T13:00:00Z")
    assert level_events(db) == []
    # Resumed at 14:00Z with 30m of first response left: breaches at 14:30:01Z.
    set_status(client, admin_headers, clock, key="P-2", at="2025-01-06T14:00:00Z", category="open", n=2)
    run_at(db, clock, "2025-01-06T14:30:00Z")
    assert level_events(db) == []
    run_at(db, clock, "2025-01-06T14:30:01Z")
    assert level_events(db) == [("sla.breached", "first_response", "breach")]


def test_cancelled_before_the_instant_never_fires(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="C-1", at=MONDAY_OPEN)
    post(client, admin_headers, clock, event(key="C-1", id="C-1-del", type="deleted", at="2025-01-06T08:30:00Z"))
    run_at(db, clock, "2025-01-08T12:00:00Z")
    assert level_events(db) == []
    assert fired(db) == []


def test_late_event_that_undoes_a_breach_emits_corrected(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="L-1", at=MONDAY_OPEN)
    run_at(db, clock, "2025-01-06T09:10:00Z")
    assert level_events(db) == [("sla.breached", "first_response", "breach")]
    # The agent's reply from 08:50Z arrives late: the first response was met; the breach never happened.
    post(client, admin_headers, clock, _reply("L-1", "2025-01-06T08:50:00Z"))
    [corrected] = outbox(db, "sla.corrected")
    assert corrected.payload["clock"]["metric"] == "first_response"
    assert corrected.payload["clock"]["breached"] is False
    assert corrected.payload["correction"]["breach_retracted"] is True
    assert corrected.payload["correction"]["retracted_levels"] == ["2:any:breach:business"]
    assert [f.level_key for f in fired(db)] == []
    assert len(outbox(db, "sla.met")) == 1


def test_retracted_level_fires_again_at_its_corrected_instant(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="L-2", at=MONDAY_OPEN)
    run_at(db, clock, "2025-01-06T12:00:00Z")
    assert ("sla.warning", "resolution", "50%") in level_events(db)
    # Late: the ticket waited on the customer from 09:00Z to 11:00Z, so 50% is really at 14:00Z.
    set_status(client, admin_headers, clock, key="L-2", at="2025-01-06T09:00:00Z", category="waiting", n=1)
    # Both clocks paused at 09:00Z: first response had exactly its hour (not breached), resolution 1h of 8h.
    corrections = {c.payload["clock"]["metric"]: c.payload["correction"] for c in outbox(db, "sla.corrected")}
    assert corrections["first_response"]["retracted_levels"] == ["2:any:breach:business"]
    assert corrections["resolution"] == {"breach_retracted": False, "retracted_levels": ["0:resolution:50%:business"]}
    set_status(client, admin_headers, clock, key="L-2", at="2025-01-06T11:00:00Z", category="open", n=2)
    run_at(db, clock, "2025-01-06T13:59:59Z")
    assert level_events(db).count(("sla.warning", "resolution", "50%")) == 1
    run_at(db, clock, "2025-01-06T14:00:00Z")
    assert level_events(db).count(("sla.warning", "resolution", "50%")) == 2


def test_writeback_on_api_source_is_recorded_as_skipped(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="S-1", at=MONDAY_OPEN)
    run_at(db, clock, "2025-01-06T15:30:00Z")
    [task] = writebacks(db)
    assert task.status == "skipped"
    assert task.last_error == "source 'api' has no write-back adapter"
    assert task.action["kind"] == "comment"
    assert task.ticket_key == "S-1"


def test_level_reached_before_a_pause_still_fires(
    client: TestClient, db: Database, clock: FakeClock, admin_headers: Headers
) -> None:
    setup_policy(client, admin_headers)
    open_ticket(client, admin_headers, clock, key="P-3", at=MONDAY_OPEN)
    # 50% of resolution is 12:00Z; the ticket waits on the customer from 12:30Z, before the scanner runs.
    set_status(client, admin_headers, clock, key="P-3", at="2025-01-06T12:30:00Z", category="waiting", n=1)
    assert ("sla.warning", "resolution", "50%") in level_events(db)
    run_at(db, clock, "2025-01-07T12:00:00Z")
    assert level_events(db).count(("sla.warning", "resolution", "50%")) == 1
    assert ("sla.breached", "resolution", "breach") not in level_events(db)
