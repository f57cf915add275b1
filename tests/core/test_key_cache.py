"""A process reuses an API-key check for a few seconds (ADR 6), and never past a revocation it made."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.auth import service as auth_service
from app.auth.models import ApiKey
from app.core import ttlcache
from app.core.db import Database
from tests.conftest import make_key

EVENT = {
    "source": "demo",
    "key": "K-1",
    "id": "e1",
    "type": "created",
    "at": "2025-01-06T09:00:00Z",
    "ticket": {"priority": "P2", "status": "Open", "status_category": "open"},
}


def _post(client: TestClient, key: str, event_id: str) -> int:
    body = {**EVENT, "id": event_id}
    return client.post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {key}"}).status_code


def test_revoking_through_this_process_applies_to_the_next_request(
    client: TestClient, db: Database, admin_headers: dict[str, str]
) -> None:
    created = client.post("/api/v1/apikeys", json={"name": "ingest", "scope": "write"}, headers=admin_headers)
    key = created.json()["key"]
    assert _post(client, key, "e1") == 200
    assert _post(client, key, "e2") == 200  # answered from the cached check
    assert client.delete(f"/api/v1/apikeys/{created.json()['id']}", headers=admin_headers).status_code == 204
    assert _post(client, key, "e3") == 401


def test_another_process_revocation_applies_once_the_check_expires(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = make_key(db, "write", "ingest")
    assert _post(client, key, "e1") == 200
    # As the CLI in another process would: straight to the table, this process not told.
    with db.transaction() as session:
        session.execute(update(ApiKey).values(revoked_at=ApiKey.created_at))
    assert _post(client, key, "e2") == 200
    later = time.monotonic() + auth_service.KEY_CACHE_SECONDS + 0.5
    monkeypatch.setattr(ttlcache.time, "monotonic", lambda: later)
    assert _post(client, key, "e3") == 401


def test_a_rejected_key_is_not_remembered(client: TestClient, db: Database) -> None:
    key = make_key(db, "write", "ingest")
    wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    assert _post(client, wrong, "e1") == 401
    assert auth_service.checked_recently(db, wrong) is None
    assert _post(client, key, "e1") == 200
    assert auth_service.checked_recently(db, key) is not None


def test_a_read_key_cached_for_reading_still_cannot_write(client: TestClient, db: Database) -> None:
    key = make_key(db, "read", "reader")
    assert client.get("/api/v1/clocks", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert auth_service.checked_recently(db, key) is not None
    assert _post(client, key, "e1") == 403
