"""Jira wired into the app: signed webhooks through the real route, and sync over loopback HTTP."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.connections.models import WebhookReceiptRow
from app.core.db import Database
from app.ingestion import sync
from app.tickets.models import TicketEventRow
from tests.api.factories import CALENDAR_YAML, POLICY_YAML, apply
from tests.conftest import FakeClock, project_queued
from tests.fakes.jira_server import FakeJira
from tests.fakes.loopback import serve_asgi
from tests.integrations.jira.fixtures import ENV, T0, make_issue, minutes, raw_payload

CONNECTION = {
    "kind": "connection",
    "name": "jira",
    "type": "jira",
    "base_url": "https://example.atlassian.net",
    "auth": {"user_env": "JIRA_USER", "token_env": "JIRA_TOKEN"},
    "webhook_secret_env": "JIRA_WEBHOOK_SECRET",
    "query": "project = SUP",
    "enrich_comment_webhooks": False,
    "mapping": {"priority": {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4"}},
}


@pytest.fixture(autouse=True)
def _jira_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def _signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(ENV["JIRA_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-Hub-Signature": f"sha256={digest}",
        "Content-Type": "application/json",
        "X-Atlassian-Webhook-Identifier": "delivery-1",
    }


def _count(db: Database, model: type) -> int:
    with db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_signed_webhook_is_stored_once_and_projected_by_the_worker(
    client: TestClient, admin_headers: dict[str, str], db: Database, clock: FakeClock
) -> None:
    policy = POLICY_YAML.replace("match: {source: [api]}", "match: {source: [jira]}")
    apply(client, admin_headers, CALENDAR_YAML + "\n---\n" + policy + "\n---\n" + yaml.safe_dump(CONNECTION))
    body = raw_payload("issue_created-mattermost-cloud.json")
    first = client.post("/webhooks/jira/jira", content=body, headers=_signed(body))
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] >= 1
    stored = _count(db, TicketEventRow)
    again = client.post("/webhooks/jira/jira", content=body, headers=_signed(body))
    assert again.json() == {"accepted": 0, "duplicates": first.json()["accepted"]}
    assert _count(db, TicketEventRow) == stored
    assert _count(db, WebhookReceiptRow) == 1
    # Stored first: the clocks come with the worker's projection of the queued ticket, once.
    assert client.get("/api/v1/tickets/jira/TES-41", headers=admin_headers).json()["clocks"] == []
    assert project_queued(db, clock) == 1
    assert project_queued(db, clock) == 0
    ticket = client.get("/api/v1/tickets/jira/TES-41", headers=admin_headers).json()
    assert ticket["ticket"]["priority"] == "P2"
    assert ticket["policy"] == "support"
    assert {c["metric"] for c in ticket["clocks"]} == {"first_response", "resolution"}


def test_a_changed_webhook_secret_applies_at_once(
    client: TestClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route reuses a connection's adapter for a few seconds; a change made here drops it at once."""
    apply(client, admin_headers, yaml.safe_dump(CONNECTION))
    body = raw_payload("issue_created-mattermost-cloud.json")
    assert client.post("/webhooks/jira/jira", content=body, headers=_signed(body)).status_code == 200
    monkeypatch.setenv("JIRA_ROTATED_SECRET", "a-new-secret")
    apply(client, admin_headers, yaml.safe_dump({**CONNECTION, "webhook_secret_env": "JIRA_ROTATED_SECRET"}))
    old_signature = client.post("/webhooks/jira/jira", content=body, headers=_signed(body))
    assert old_signature.status_code == 401
    digest = hmac.new(b"a-new-secret", body, hashlib.sha256).hexdigest()
    assert client.post("/webhooks/jira/jira", content=body, headers={"X-Hub-Signature": f"sha256={digest}"}).is_success
    client.delete("/api/v1/connections/jira", headers=admin_headers)
    assert client.post("/webhooks/jira/jira", content=body, headers=_signed(body)).status_code == 404


def test_bad_or_missing_signature_is_401_problem(client: TestClient, admin_headers: dict[str, str]) -> None:
    apply(client, admin_headers, yaml.safe_dump(CONNECTION))
    body = raw_payload("issue_created-mattermost-cloud.json")
    forged = client.post("/webhooks/jira/jira", content=body, headers={"X-Hub-Signature": "sha256=" + "0" * 64})
    assert forged.status_code == 401
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert client.post("/webhooks/jira/jira", content=body).status_code == 401
    assert client.post("/webhooks/jira/nope", content=body, headers=_signed(body)).status_code == 404
    assert client.post("/webhooks/servicenow/jira", content=body, headers=_signed(body)).status_code == 404


@pytest.fixture
def fake_jira() -> Iterator[tuple[FakeJira, str]]:
    fake = FakeJira(deployment="cloud")
    with serve_asgi(fake.app) as url:
        yield fake, url


def test_sync_stores_pages_then_cursor_and_survives_failures(
    client: TestClient,
    admin_headers: dict[str, str],
    db: Database,
    clock: FakeClock,
    fake_jira: tuple[FakeJira, str],
) -> None:
    fake, url = fake_jira
    for n in range(1, 8):
        fake.add_issue(make_issue(n, created=T0, updated=T0 + minutes(n)))
    conn = {**CONNECTION, "base_url": url, "page_size": 3, "max_retries": 1}
    apply(client, admin_headers, yaml.safe_dump(conn))
    report = sync.run_sync(db, "jira", clock)
    assert report.error is None
    assert report.new >= 7
    assert report.pages >= 3
    cursor = client.get("/api/v1/connections/jira", headers=admin_headers).json()["sync"]["cursor"]
    assert cursor is not None
    assert _count(db, TicketEventRow) == report.new
    # A second pass finds only what the overlap window re-reads: nothing new.
    assert sync.run_sync(db, "jira", clock).new == 0
    fake.fail(50, 500)
    failed = sync.run_sync(db, "jira", clock, full=True)
    assert failed.error is not None
    status = client.get("/api/v1/connections/jira", headers=admin_headers).json()["sync"]
    assert status["cursor"] == cursor
    assert "RetryableError" in status["last_sync_error"]
    assert "tok-cloud-secret" not in str(status)


def test_webhook_without_a_configured_secret_is_503_and_says_so(
    client: TestClient, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    apply(client, admin_headers, yaml.safe_dump(CONNECTION))
    monkeypatch.delenv("JIRA_WEBHOOK_SECRET")
    body = raw_payload("issue_created-mattermost-cloud.json")
    response = client.post("/webhooks/jira/jira", content=body, headers=_signed(body))
    assert response.status_code == 503
    assert response.json()["type"].endswith("/webhook-not-configured")
    assert "JIRA_WEBHOOK_SECRET" in response.json()["detail"]
