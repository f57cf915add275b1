"""ServiceNow wired into the app: signed pushes through the real route, and sync over loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.db import Database
from app.ingestion import sync
from tests.api.factories import apply
from tests.conftest import FakeClock
from tests.fakes.loopback import serve_asgi
from tests.fakes.servicenow_server import FakeServiceNow
from tests.integrations.servicenow.conftest import INC60_ID, inc60_history, make_conn
from tests.integrations.servicenow.test_push import on_hold_push, signed
from tests.integrations.servicenow.test_translate import inc60

POLICY = """
kind: policy
name: itsm
match: {source: [servicenow]}
metrics:
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}}
targets:
  - {resolution: {target: 40h}}
"""


@pytest.fixture(autouse=True)
def _sn_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SN_TEST_USER", "integration")
    monkeypatch.setenv("SN_TEST_PASSWORD", "s3cret")
    monkeypatch.setenv("SN_TEST_PUSH_SECRET", "push-secret")
    monkeypatch.setenv("SN_TEST_PUSH_TOKEN", "push-token")


def _apply_connection(client: TestClient, headers: dict[str, str], **overrides: object) -> None:
    doc = make_conn(**overrides).model_dump(mode="json")
    response = client.post("/api/v1/connections", json=doc, headers=headers)
    assert response.status_code == 201, response.text
    assert "push-secret" not in response.text


def test_signed_push_is_idempotent(client: TestClient, admin_headers: dict[str, str]) -> None:
    _apply_connection(client, admin_headers)
    body = on_hold_push()
    first = client.post("/webhooks/servicenow/servicenow", content=body, headers=signed(body))
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] >= 1
    again = client.post("/webhooks/servicenow/servicenow", content=body, headers=signed(body))
    assert again.json() == {"accepted": 0, "duplicates": first.json()["accepted"]}
    events = client.get("/api/v1/tickets/servicenow/INC0000060/events", headers=admin_headers).json()
    assert any(e["event"]["type"] == "status_changed" and e["event"].get("to_category") == "waiting" for e in events)
    forged = client.post("/webhooks/servicenow/servicenow", content=body, headers=signed(body, b"wrong"))
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def fake_sn() -> Iterator[tuple[FakeServiceNow, str]]:
    fake = FakeServiceNow()
    with serve_asgi(fake.app) as url:
        yield fake, url


def test_sync_replays_audit_history_into_clocks(
    client: TestClient,
    admin_headers: dict[str, str],
    db: Database,
    clock: FakeClock,
    fake_sn: tuple[FakeServiceNow, str],
) -> None:
    fake, url = fake_sn
    fake.add("incident", inc60())
    fake.add("sys_audit", *inc60_history())
    apply(client, admin_headers, POLICY)
    _apply_connection(client, admin_headers, base_url=url)
    report = sync.run_sync(db, "servicenow", clock)
    assert report.error is None, report.error
    assert report.new > 3
    body = client.get("/api/v1/tickets/servicenow/INC0000060", headers=admin_headers).json()
    assert body["ticket"]["status_category"] == "closed"
    (resolution,) = [c for c in body["clocks"] if c["metric"] == "resolution"]
    assert resolution["state"] == "stopped"
    assert any(span["kind"] == "paused" for span in resolution["timeline"])  # the On Hold (Awaiting Caller) stretch
    assert sync.run_sync(db, "servicenow", clock).new == 0
    assert INC60_ID in {
        e["event"]["id"].split("-")[1]
        for e in client.get("/api/v1/tickets/servicenow/INC0000060/events", headers=admin_headers).json()
        if e["event"]["id"].startswith("chg-")
    }
