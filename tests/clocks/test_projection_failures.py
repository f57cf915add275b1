"""One ticket whose projection fails is set aside; the rest of its batch goes on (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.clocks.models import ReplayStateRow
from app.core.db import Database
from app.tickets.models import TicketEventRow, TicketRow
from tests.api.factories import created, event, setup_support
from tests.conftest import FakeClock, project_queued

KEYS = [f"T-{n}" for n in range(1, 6)]
POISONED = "T-3"
OPENED = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
ANSWERED = OPENED + timedelta(minutes=20)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _poison_stored_fold(db: Database, key: str) -> None:
    """What a bug of ours would leave: a stored fold the engine cannot read back."""
    with db.transaction() as session:
        ticket_id = session.scalar(select(TicketRow.id).where(TicketRow.key == key))
        state = session.get(ReplayStateRow, ticket_id)
        assert state is not None
        state.state = {"not": "a fold"}


def _first_response(client: TestClient, headers: dict[str, str], key: str) -> dict:
    body = client.get(f"/api/v1/tickets/api/{key}", headers=headers).json()
    return next(c for c in body["clocks"] if c["metric"] == "first_response")


def test_a_ticket_that_cannot_be_projected_is_set_aside_and_the_others_go_on(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    clock.set(OPENED + timedelta(minutes=5))
    opened = [created(key=key, at=_iso(OPENED), priority="P2") for key in KEYS]
    assert client.post("/api/v1/events", json=opened, headers=admin_headers).status_code == 200
    _poison_stored_fold(db, POISONED)

    # One request, one writer transaction, one projection batch holding all five tickets.
    clock.set(ANSWERED + timedelta(minutes=1))
    answers = [
        event(key=key, id=f"{key}-reply", type="comment", at=_iso(ANSWERED), author_role="agent", public=True)
        for key in KEYS
    ]
    response = client.post("/api/v1/events", json=answers, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(KEYS)

    # 20 minutes inside business hours: the reply met the 8-hour P2 target.
    for key in KEYS:
        clock_doc = _first_response(client, admin_headers, key)
        if key != POISONED:
            assert (clock_doc["state"], clock_doc["met"], clock_doc["elapsed_seconds"]) == ("stopped", True, 20 * 60)
    # The poisoned one shows its clocks as last stored, 5 minutes in, until it is repaired.
    assert _first_response(client, admin_headers, POISONED)["elapsed_seconds"] == 5 * 60

    failed = client.get("/api/v1/tickets?failed=true", headers=admin_headers).json()
    assert [t["key"] for t in failed["items"]] == [POISONED]
    failure = failed["items"][0]["projection_failure"]
    assert failure["failures"] == 1
    assert failure["error"].startswith("KeyError")
    assert failure["retry_at"] == _iso(ANSWERED + timedelta(minutes=1, seconds=30))
    status = client.get(f"/api/v1/tickets/api/{POISONED}", headers=admin_headers).json()
    assert status["projection_failure"] == failure
    metrics = client.get("/metrics").text
    assert "sla_failed_tickets 1.0" in metrics

    # The clocks lane waits out the delay, then tries again: it fails again and waits twice as long.
    assert project_queued(db, clock) == 0
    clock.set(ANSWERED + timedelta(minutes=1, seconds=31))
    project_queued(db, clock)
    again = client.get("/api/v1/tickets?failed=true", headers=admin_headers).json()["items"][0]
    assert again["projection_failure"]["failures"] == 2
    assert again["projection_failure"]["retry_at"] == _iso(ANSWERED + timedelta(minutes=2, seconds=31))

    # An admin's replay reads the whole log (not the broken fold): the ticket is back.
    replay = client.post(f"/api/v1/tickets/api/{POISONED}/replay", headers=admin_headers)
    assert replay.status_code == 200, replay.text
    assert replay.json()["projection_failure"] is None
    assert _first_response(client, admin_headers, POISONED)["elapsed_seconds"] == 20 * 60
    assert client.get("/api/v1/tickets?failed=true", headers=admin_headers).json()["items"] == []
    assert "sla_failed_tickets 0.0" in client.get("/metrics").text


def test_a_replay_that_fails_again_is_a_409_and_changes_nothing(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    clock.set(OPENED + timedelta(minutes=5))
    client.post("/api/v1/events", json=[created(key="T-1", at=_iso(OPENED))], headers=admin_headers)
    with db.transaction() as session:  # a stored event the engine cannot read (e.g. written by an older bug)
        row = session.scalars(select(TicketEventRow)).one()
        row.body = {**row.body, "type": "no-such-type"}
        # Without its stored fold (a configuration change has the same effect) the log is read again.
        session.delete(session.scalars(select(ReplayStateRow)).one())
    response = client.post("/api/v1/tickets/api/T-1/replay", headers=admin_headers)
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "projection failed" in response.json()["detail"]
    assert client.get("/api/v1/tickets?failed=true", headers=admin_headers).json()["items"] == []

    # The next event sets it aside (its log is replayed); its status and page still answer, with the clocks last stored.
    reply = event(key="T-1", id="r1", type="comment", at=_iso(ANSWERED), author_role="agent", public=True)
    assert client.post("/api/v1/events", json=[reply], headers=admin_headers).status_code == 200
    status = client.get("/api/v1/tickets/api/T-1", headers=admin_headers)
    assert status.status_code == 200, status.text
    body = status.json()
    assert body["projection_failure"]["error"].startswith("ValidationError")
    assert {c["metric"]: c["state"] for c in body["clocks"]} == {"first_response": "running", "resolution": "running"}
    assert body["cycle_counts"] == {"first_response": 1, "resolution": 1}
    assert client.get("/tickets/api/T-1", headers=admin_headers).status_code == 200


def test_the_ticket_list_pages_and_rejects_foreign_cursors(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    clock.set(OPENED + timedelta(minutes=5))
    client.post("/api/v1/events", json=[created(key=k, at=_iso(OPENED)) for k in KEYS], headers=admin_headers)
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/tickets?limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=admin_headers
        ).json()
        seen += [t["key"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(KEYS))
    bad = client.get("/api/v1/tickets?cursor=%C2%B2", headers=admin_headers)
    assert bad.status_code == 422
    assert "cursor" in bad.text
