"""Policies as code over REST: apply, dry run, versions, pinning, explicit migration, bad documents."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.clocks import jobs
from app.clocks.models import ClockRow
from app.core.db import Database
from app.policies.models import PolicyRow
from tests.api.factories import CALENDAR_YAML, POLICY_YAML, apply, clocks_by_metric, created, setup_support
from tests.conftest import FakeClock


def test_dry_run_reports_and_writes_nothing(client: TestClient, admin_headers: dict[str, str], db: Database) -> None:
    changes = apply(client, admin_headers, CALENDAR_YAML + "\n---\n" + POLICY_YAML, dry_run=True)
    assert [(c["kind"], c["action"]) for c in changes] == [("calendar", "created"), ("policy", "created")]
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(PolicyRow)) == 0
    assert client.get("/api/v1/policies", headers=admin_headers).json() == []


def test_reapplying_the_same_policy_is_unchanged(client: TestClient, admin_headers: dict[str, str]) -> None:
    setup_support(client, admin_headers)
    changes = apply(client, admin_headers, CALENDAR_YAML + "\n---\n" + POLICY_YAML)
    assert {c["action"] for c in changes} == {"unchanged"}


def test_invalid_policy_names_fields_and_applies_nothing(client: TestClient, admin_headers: dict[str, str]) -> None:
    unknown_calendar = POLICY_YAML.replace("calendar: eu-support", "calendar: nowhere")
    bad_duration = POLICY_YAML.replace("target: 1h", "target: 1 hour").replace("name: support", "name: other")
    text = CALENDAR_YAML + "\n---\n" + unknown_calendar + "\n---\n" + bad_duration
    response = client.post("/api/v1/apply", content=text, headers=admin_headers)
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert "documents[1].calendar" in fields
    assert any(f.startswith("documents[2].targets[0].first_response") for f in fields)
    assert client.get("/api/v1/calendars/eu-support", headers=admin_headers).status_code == 404


def test_unknown_kind_is_named(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/apply", content="kind: gadget\nname: x\n", headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "documents[0].kind"


def test_ticket_keeps_its_version_until_migrated(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    setup_support(client, admin_headers)
    client.post("/api/v1/events", json=created(), headers=admin_headers)
    apply(client, admin_headers, POLICY_YAML.replace("resolution: {target: 8h}", "resolution: {target: 4h}"))
    versions = client.get("/api/v1/policies/support/versions", headers=admin_headers).json()
    assert [v["version"] for v in versions] == [1, 2]

    pinned = client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json()
    assert pinned["policy_version"] == 1
    assert clocks_by_metric(pinned)["resolution"]["target_seconds"] == 8 * 3600
    # A new ticket matches the current version.
    client.post("/api/v1/events", json=created(key="T-2"), headers=admin_headers)
    assert client.get("/api/v1/tickets/api/T-2", headers=admin_headers).json()["policy_version"] == 2

    moved = client.post("/api/v1/policies/support/migrate", json={"reason": "new contract"}, headers=admin_headers)
    assert moved.status_code == 200
    assert moved.json()["tickets"] == 1
    assert jobs.replay_requested(db, clock) == 1
    migrated = client.get("/api/v1/tickets/api/T-1", headers=admin_headers).json()
    assert migrated["policy_version"] == 2
    assert clocks_by_metric(migrated)["resolution"]["target_seconds"] == 4 * 3600
    with db.transaction(write=False) as session:
        actions = list(session.scalars(select(AuditEntry.action)))
        old = session.scalars(select(ClockRow).where(ClockRow.ticket_key == "T-1", ClockRow.policy_version == 1)).all()
    assert "policy.migrate" in actions
    # The version-1 clocks (open at the migration) stay as history, superseded, with the figures they had.
    resolution = next(row for row in old if row.metric == "resolution")
    assert {row.state for row in old} == {"superseded"}
    assert resolution.detail["cancelled_reason"] == "superseded by version 2 of policy support"
    assert resolution.detail["state"] == "superseded"
    assert resolution.detail["target_seconds"] == 8 * 3600


def test_migrate_to_a_missing_version_is_422(client: TestClient, admin_headers: dict[str, str]) -> None:
    setup_support(client, admin_headers)
    response = client.post(
        "/api/v1/policies/support/migrate", json={"to_version": 9, "reason": "x"}, headers=admin_headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to_version"


def test_policy_writes_need_admin(client: TestClient, write_headers: dict[str, str]) -> None:
    assert client.post("/api/v1/apply", content=POLICY_YAML, headers=write_headers).status_code == 403
    assert client.get("/api/v1/policies", headers=write_headers).status_code == 200
