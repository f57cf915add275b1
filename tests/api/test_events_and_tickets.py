"""Ingesting events over REST and reading a ticket's clocks back (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.db import Database
from app.tickets.models import TicketEventRow
from tests.api.factories import clocks_by_metric, created, event, setup_support
from tests.conftest import FakeClock


def _post(client: TestClient, headers: dict[str, str], body: object) -> dict:
    response = client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_duplicates_change_nothing(client: TestClient, admin_headers: dict[str, str]) -> None:
    setup_support(client, admin_headers)
    batch = [created(), event(id="c1", type="comment", at="2025-01-06T09:20:00Z", author_role="agent", public=True)]
    first = _post(client, admin_headers, batch)
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    again = _post(client, admin_headers, [*batch, batch[0]])
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    assert {e["outcome"] for e in again["events"]} == {"duplicate"}


def test_first_response_met_and_resolution_running(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    _post(
        client,
        admin_headers,
        [created(), event(id="c1", type="comment", at="2025-01-06T09:20:00Z", author_role="agent", public=True)],
    )
    clock.set(clock.current.replace(hour=10))
    body = client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json()
    clocks = clocks_by_metric(body)
    assert body["policy"] == "support"
    assert body["policy_version"] == 1
    assert clocks["first_response"]["met"] is True
    assert clocks["first_response"]["elapsed_seconds"] == 20 * 60
    # Mon 10:00 Berlin + 8 business hours on 09-17 = Tue 10:00 Berlin = 09:00Z.
    assert clocks["resolution"]["due_at"] == "2025-01-07T09:00:00Z"
    assert clocks["resolution"]["state"] == "running"


def test_out_of_order_delivery_gives_the_same_clocks(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock
) -> None:
    setup_support(client, admin_headers)
    waiting = event(id="w", type="status_changed", at="2025-01-06T10:00:00Z", to="Waiting", to_category="waiting")
    back = event(id="b", type="status_changed", at="2025-01-06T12:00:00Z", to="Open", to_category="open")
    _post(client, admin_headers, [back])  # held: no created yet
    _post(client, admin_headers, [waiting])
    _post(client, admin_headers, [created()])
    clock.set(clock.current.replace(hour=13))
    shuffled = client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json()

    _post(client, admin_headers, [created(key="T-2"), {**waiting, "key": "T-2"}, {**back, "key": "T-2"}])
    in_order = client.get("/api/v1/tickets/api/T-2", headers=admin_headers).json()
    assert [c | {"key": None} for c in shuffled["clocks"]] == [c | {"key": None} for c in in_order["clocks"]]
    resolution = clocks_by_metric(in_order)["resolution"]
    assert resolution["elapsed_seconds"] == 2 * 3600  # 09-10 and 12-13 UTC count; 10-12 waits
    assert [s["kind"] for s in resolution["timeline"]] == ["running", "paused", "running"]


def test_a_bad_event_in_a_batch_writes_nothing(client: TestClient, admin_headers: dict[str, str], db: Database) -> None:
    good = created()
    bad = event(id="x", type="status_changed", at="2025-01-06T10:00:00")
    response = client.post("/api/v1/events", json=[good, bad], headers=admin_headers)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert "[1].at" in fields
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(TicketEventRow)) == 0


def test_batch_limit_and_shape(client: TestClient, admin_headers: dict[str, str]) -> None:
    too_many = [event(key=f"K{i}", id="e", type="deleted", at="2025-01-06T10:00:00Z") for i in range(1001)]
    response = client.post("/api/v1/events", json=too_many, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"
    assert client.post("/api/v1/events", json="hello", headers=admin_headers).status_code == 422


def test_a_body_that_is_not_json_is_refused_by_name_and_writes_nothing(
    client: TestClient, admin_headers: dict[str, str], db: Database
) -> None:
    as_json = {**admin_headers, "Content-Type": "application/json"}
    broken = client.post("/api/v1/events", content=b'{"source": "api", "key":', headers=as_json)
    assert broken.status_code == 422
    assert broken.headers["content-type"].startswith("application/problem+json")
    assert broken.json()["errors"][0]["field"] == "body"
    assert "not valid JSON" in broken.json()["errors"][0]["reason"]
    one = json.dumps(created()).encode()
    as_form = client.post(
        "/api/v1/events", content=one, headers={**admin_headers, "Content-Type": "application/x-www-form-urlencoded"}
    )
    assert as_form.status_code == 415
    assert "application/json" in as_form.json()["detail"]
    assert as_form.json()["errors"][0]["field"] == "Content-Type"
    assert client.post("/api/v1/events", content=one, headers=admin_headers).status_code == 415
    with_charset = {**admin_headers, "Content-Type": "application/json; charset=utf-8"}
    assert client.post("/api/v1/events", content=one, headers=with_charset).status_code == 200
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(TicketEventRow)) == 1


def test_write_scope_is_needed_to_post_events(client: TestClient, read_headers: dict[str, str]) -> None:
    assert client.post("/api/v1/events", json=created(), headers=read_headers).status_code == 403


def test_time_travel_with_at(client: TestClient, admin_headers: dict[str, str], clock: FakeClock) -> None:
    setup_support(client, admin_headers)
    _post(
        client,
        admin_headers,
        [created(), event(id="r", type="status_changed", at="2025-01-06T11:00:00Z", to="Done", to_category="resolved")],
    )
    clock.set(clock.current.replace(hour=15))
    before = client.get("/api/v1/tickets/api/T-1?at=2025-01-06T10:00:00Z", headers=admin_headers).json()
    after = client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json()
    assert clocks_by_metric(before)["resolution"]["state"] == "running"
    assert clocks_by_metric(before)["resolution"]["elapsed_seconds"] == 3600
    assert clocks_by_metric(after)["resolution"]["state"] == "stopped"
    assert clocks_by_metric(after)["resolution"]["met"] is True
    naive = client.get("/api/v1/tickets/api/T-1?at=2025-01-06T10:00:00", headers=admin_headers)
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["field"] == "at"


def test_unknown_ticket_is_404(client: TestClient, read_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/tickets/api/NOPE", headers=read_headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
