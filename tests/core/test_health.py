"""Liveness, readiness (database + schema) and Prometheus metrics."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import Database, build_engine
from app.main import create_app


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readyz_is_503_on_an_unmigrated_database(tmp_path: Path, settings: Settings) -> None:
    empty = Database(build_engine(f"sqlite:///{tmp_path}/empty.db"))
    with TestClient(create_app(settings, database=empty, run_workers=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "sla-tracker migrate" in response.json()["detail"]


def test_metrics_count_requests_by_route_template(client: TestClient, admin_headers: dict[str, str]) -> None:
    client.delete("/api/v1/apikeys/424242", headers=admin_headers)
    client.get("/api/v1/tickets/jira/SUP-424242")  # refused before the route runs: no key
    client.get("/no/such/path/424242")
    text = client.get("/metrics").text
    assert 'route="/api/v1/apikeys/{key_id}"' in text
    assert 'route="/api/v1/tickets/{source}/{key}",status="401"' in text
    assert 'route="unmatched",status="404"' in text
    # No label carries the raw path (a sample's value may contain these digits by chance).
    assert not re.search(r"\{[^}]*424242[^}]*\}", text)
    assert "sla_http_request_duration_seconds_bucket" in text
