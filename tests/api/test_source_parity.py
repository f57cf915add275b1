"""The same history through webhooks, through sync, and through both (duplicated, out of order)
gives identical clocks; malformed deliveries are refused and write nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.db import Database
from app.ingestion import sync
from app.tickets.models import TicketEventRow
from tests.api.factories import apply
from tests.conftest import FakeClock, project_queued
from tests.fakes.jira_server import FakeJira
from tests.fakes.loopback import serve_asgi
from tests.fakes.servicenow_server import FakeServiceNow
from tests.integrations.jira.fixtures import ENV, payload
from tests.integrations.jira.test_parity import COMMENT, TES41_CHANGES, _load
from tests.integrations.servicenow.conftest import INC60_ID, inc60_history, make_conn
from tests.integrations.servicenow.test_push import push_body, signed
from tests.integrations.servicenow.test_translate import inc60

POLICY = """
kind: policy
name: everything
metrics:
  first_response: {start: [created], stop: [agent_public_comment]}
  resolution: {start: [created], stop: [resolved], pause_when: {status_category: [waiting]}, on_reopen: new_cycle}
targets:
  - {first_response: {target: 8h}, resolution: {target: 40h}}
"""
WEBHOOKS = ["issue_created-mattermost-cloud.json", *TES41_CHANGES, COMMENT]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        **ENV,
        "SN_TEST_USER": "integration",
        "SN_TEST_PASSWORD": "s3cret",
        "SN_TEST_PUSH_SECRET": "push-secret",
        "SN_TEST_PUSH_TOKEN": "push-token",
    }.items():
        monkeypatch.setenv(name, value)


def _comparable(client: TestClient, headers: dict[str, str], source: str, key: str) -> list[dict[str, Any]]:
    body = client.get(f"/api/v1/tickets/{source}/{key}", headers=headers).json()
    assert body["clocks"], body
    return [{k: v for k, v in clock.items() if k not in ("policy_version",)} for clock in body["clocks"]]


def _count_events(db: Database) -> int:
    with db.transaction(write=False) as session:
        return int(session.scalar(select(func.count()).select_from(TicketEventRow)) or 0)


@pytest.fixture
def fake_jira() -> Iterator[tuple[FakeJira, str]]:
    fake = FakeJira(deployment="cloud")
    _load(fake)
    with serve_asgi(fake.app) as url:
        yield fake, url


def _jira_connection(name: str, url: str) -> str:
    return yaml.safe_dump(
        {
            "kind": "connection",
            "name": name,
            "type": "jira",
            "base_url": url,
            "query": "",
            "auth": {"user_env": "JIRA_USER", "token_env": "JIRA_TOKEN"},
            "webhook_secret_env": "JIRA_WEBHOOK_SECRET",
            "enrich_comment_webhooks": True,
        }
    )


def _deliver_jira(client: TestClient, connection: str, names: list[str]) -> None:
    for name in names:
        body = json.dumps(payload(name)).encode()
        digest = hmac.new(ENV["JIRA_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
        response = client.post(
            f"/webhooks/jira/{connection}", content=body, headers={"X-Hub-Signature": f"sha256={digest}"}
        )
        assert response.status_code == 200, response.text


def test_jira_webhooks_sync_and_both_give_identical_clocks(
    client: TestClient,
    admin_headers: dict[str, str],
    db: Database,
    clock: FakeClock,
    fake_jira: tuple[FakeJira, str],
) -> None:
    fake, url = fake_jira
    docs = [POLICY] + [_jira_connection(name, url) for name in ("hooks", "synced", "both")]
    apply(client, admin_headers, "\n---\n".join(docs))
    _deliver_jira(client, "hooks", WEBHOOKS)
    # The comment webhook left the event loop to ask Jira for the reporter (enrichment), once.
    assert len([c for c in fake.calls("GET", "/issue/TES-41") if "reporter" in str(c.query)]) == 1
    assert sync.run_sync(db, "synced", clock).error is None
    _deliver_jira(client, "both", [*reversed(WEBHOOKS), *WEBHOOKS[:3]])
    assert sync.run_sync(db, "both", clock).error is None
    _deliver_jira(client, "both", WEBHOOKS)
    assert project_queued(db, clock) == 2  # the webhooks' tickets (hooks, both); sync projected its own

    clock.set(clock.current.replace(year=2026))
    hooks, synced, both = (
        _comparable(client, admin_headers, source, "TES-41") for source in ("hooks", "synced", "both")
    )
    assert hooks == synced == both
    assert {c["metric"] for c in hooks} == {"first_response", "resolution"}


def test_malformed_jira_webhook_is_4xx_problem_and_writes_nothing(
    client: TestClient, admin_headers: dict[str, str], db: Database, fake_jira: tuple[FakeJira, str]
) -> None:
    apply(client, admin_headers, _jira_connection("hooks", fake_jira[1]))
    for body in (b"{not json", b"[1, 2]", json.dumps({"webhookEvent": "jira:issue_created"}).encode()):
        digest = hmac.new(ENV["JIRA_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
        response = client.post("/webhooks/jira/hooks", content=body, headers={"X-Hub-Signature": f"sha256={digest}"})
        assert 400 <= response.status_code < 500, (body, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert _count_events(db) == 0


@pytest.fixture
def fake_sn() -> Iterator[tuple[FakeServiceNow, str]]:
    fake = FakeServiceNow()
    fake.add("incident", inc60())
    fake.add("sys_audit", *inc60_history())
    with serve_asgi(fake.app) as url:
        yield fake, url


def _sn_pushes() -> list[bytes]:
    """INC0000060's history as the documented Business Rule would have pushed it, one per audited change."""
    record = inc60()
    by_checkpoint: dict[str, list[dict[str, str]]] = {}
    for row in inc60_history():
        by_checkpoint.setdefault(row["record_checkpoint"], []).append(row)
    current = {**record, "state": "1", "hold_reason": "", "sys_mod_count": "0"}
    bodies = [push_body("insert", 0, {**current, "sys_updated_on": record["opened_at"]})]
    for checkpoint, rows in sorted(by_checkpoint.items(), key=lambda item: int(item[0])):
        previous = {row["fieldname"]: current.get(row["fieldname"], "") for row in rows}
        current = {
            **current,
            **{row["fieldname"]: row["newvalue"] for row in rows},
            "sys_mod_count": checkpoint,
            "sys_updated_on": rows[0]["sys_created_on"],
        }
        bodies.append(push_body("update", int(checkpoint), current, [row["fieldname"] for row in rows], previous))
    return bodies


def test_servicenow_push_and_sync_give_identical_clocks(
    client: TestClient,
    admin_headers: dict[str, str],
    db: Database,
    clock: FakeClock,
    fake_sn: tuple[FakeServiceNow, str],
) -> None:
    _, url = fake_sn
    apply(client, admin_headers, POLICY)
    for name in ("pushed", "synced"):
        doc = make_conn(name=name, base_url=url).model_dump(mode="json")
        assert client.post("/api/v1/connections", json=doc, headers=admin_headers).status_code == 201
    pushes = _sn_pushes()
    for body in [*reversed(pushes), *pushes]:  # out of order, then all again
        response = client.post("/webhooks/servicenow/pushed", content=body, headers=signed(body))
        assert response.status_code == 200, response.text
    assert project_queued(db, clock) == 1
    assert sync.run_sync(db, "synced", clock).error is None
    clock.set(clock.current.replace(year=2026))
    pushed = _comparable(client, admin_headers, "pushed", "INC0000060")
    synced = _comparable(client, admin_headers, "synced", "INC0000060")
    assert pushed == synced
    resolution = [c for c in synced if c["metric"] == "resolution"]
    # On Hold (Awaiting Caller) paused the clock.
    assert any(s["kind"] == "paused" and "waiting" in (s["reason"] or "") for s in resolution[0]["timeline"])
    assert INC60_ID


def test_bad_servicenow_push_is_refused_and_writes_nothing(
    client: TestClient, admin_headers: dict[str, str], db: Database
) -> None:
    doc = make_conn().model_dump(mode="json")
    client.post("/api/v1/connections", json=doc, headers=admin_headers)
    body = _sn_pushes()[0]
    assert (
        client.post(
            "/webhooks/servicenow/servicenow", content=body, headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    for bad in (b"{oops", json.dumps({"schema": "something-else"}).encode()):
        response = client.post("/webhooks/servicenow/servicenow", content=bad, headers=signed(bad))
        assert 400 <= response.status_code < 500
        assert response.headers["content-type"].startswith("application/problem+json")
    assert _count_events(db) == 0


@pytest.mark.parametrize(("on_reopen", "cycles"), [("resume", 1), ("new_cycle", 2)])
def test_servicenow_resolved_then_reopened_follows_on_reopen(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, on_reopen: str, cycles: int
) -> None:
    apply(client, admin_headers, POLICY.replace("on_reopen: new_cycle", f"on_reopen: {on_reopen}"))
    client.post("/api/v1/connections", json=make_conn().model_dump(mode="json"), headers=admin_headers)
    base = {
        **inc60(),
        "state": "1",
        "hold_reason": "",
        "opened_at": "2016-12-12 15:00:00",
        "sys_updated_on": "2016-12-12 15:00:00",
    }
    steps = [
        push_body("insert", 0, base),
        push_body(
            "update", 1, {**base, "state": "6", "sys_updated_on": "2016-12-12 17:00:00"}, ["state"], {"state": "1"}
        ),
        push_body(
            "update", 2, {**base, "state": "2", "sys_updated_on": "2016-12-13 09:00:00"}, ["state"], {"state": "6"}
        ),
    ]
    for body in steps:
        assert client.post("/webhooks/servicenow/servicenow", content=body, headers=signed(body)).status_code == 200
    project_queued(client.app.state.db, clock)  # type: ignore[attr-defined]
    clocks = client.get("/api/v1/tickets/servicenow/INC0000060", headers=admin_headers).json()["clocks"]
    resolution = [c for c in clocks if c["metric"] == "resolution"]
    assert len(resolution) == cycles
    assert resolution[-1]["state"] == "running"
    if on_reopen == "resume":
        since_reopen = (clock.current - datetime(2016, 12, 13, 9, tzinfo=UTC)).total_seconds()
        # Two hours before it was resolved, then everything since the reopen; the resolved night does not count.
        assert resolution[0]["elapsed_seconds"] == 2 * 3600 + since_reopen
    else:
        assert resolution[0]["state"] == "stopped"
        assert resolution[0]["met"] is True
