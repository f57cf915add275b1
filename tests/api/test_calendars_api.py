"""Calendars over REST: CRUD, due/elapsed for bots, validation naming the field."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.factories import setup_support

CAL = {"name": "ny", "timezone": "America/New_York", "hours": {"mon": ["09:00-17:00"], "tue": ["09:00-17:00"]}}


def test_crud_and_builtin(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert client.post("/api/v1/calendars", json=CAL, headers=admin_headers).status_code == 201
    assert client.post("/api/v1/calendars", json=CAL, headers=admin_headers).status_code == 409
    names = [c["name"] for c in client.get("/api/v1/calendars", headers=admin_headers).json()]
    assert names == ["24x7", "ny"]
    changed = {**CAL, "hours": {"mon": ["08:00-12:00"]}}
    assert client.put("/api/v1/calendars/ny", json=changed, headers=admin_headers).json()["hours"] == {
        "mon": ["08:00-12:00"]
    }
    assert client.delete("/api/v1/calendars/ny", headers=admin_headers).status_code == 204
    assert client.get("/api/v1/calendars/ny", headers=admin_headers).status_code == 404


def test_calendar_in_use_cannot_be_deleted(client: TestClient, admin_headers: dict[str, str]) -> None:
    setup_support(client, admin_headers)
    response = client.delete("/api/v1/calendars/eu-support", headers=admin_headers)
    assert response.status_code == 409
    assert "support" in response.json()["detail"]


def test_due_and_elapsed(client: TestClient, admin_headers: dict[str, str], read_headers: dict[str, str]) -> None:
    client.post("/api/v1/calendars", json=CAL, headers=admin_headers)
    due = client.post(
        "/api/v1/calendars/ny/due", json={"start": "2025-01-06T16:00:00-05:00", "duration": "2h"}, headers=read_headers
    )
    assert due.status_code == 200
    assert due.json()["due"] == "2025-01-07T10:00:00-05:00"
    # Exactly at closing time: due at the next opening (the latest instant with the same elapsed time).
    closing = client.post(
        "/api/v1/calendars/ny/due", json={"start": "2025-01-06T16:00:00-05:00", "duration": "1h"}, headers=read_headers
    )
    assert closing.json()["due"] == "2025-01-07T09:00:00-05:00"
    elapsed = client.post(
        "/api/v1/calendars/ny/elapsed",
        json={
            "start": "2025-01-06T08:00:00-05:00",
            "end": "2025-01-07T10:00:00-05:00",
            "pauses": [{"start": "2025-01-06T12:00:00-05:00", "end": "2025-01-06T13:00:00-05:00"}],
        },
        headers=read_headers,
    )
    assert elapsed.json() == {"seconds": 8 * 3600}


def test_bad_calendar_and_bad_inputs_are_422(client: TestClient, admin_headers: dict[str, str]) -> None:
    bad = client.post(
        "/api/v1/calendars",
        json={"name": "x", "timezone": "Mars/Base", "hours": {"mon": ["9-5"]}},
        headers=admin_headers,
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert "timezone" in fields
    assert any(f.startswith("hours.mon") for f in fields)
    client.post("/api/v1/calendars", json=CAL, headers=admin_headers)
    dur = client.post(
        "/api/v1/calendars/ny/due", json={"start": "2025-01-06T16:00:00Z", "duration": "soon"}, headers=admin_headers
    )
    assert dur.json()["errors"][0]["field"] == "duration"
    backwards = client.post(
        "/api/v1/calendars/ny/elapsed",
        json={"start": "2025-01-07T00:00:00Z", "end": "2025-01-06T00:00:00Z"},
        headers=admin_headers,
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "end"
