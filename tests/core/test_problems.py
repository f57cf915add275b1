"""Errors are RFC 9457 problem+json, naming the field; no internals leak."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app


def test_validation_error_names_the_field(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post("/api/v1/apikeys", json={"name": "bot", "scope": "root"}, headers=admin_headers)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"].endswith("/validation-error")
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == ["scope"]
    assert "read" in body["errors"][0]["reason"]


def test_malformed_json_is_a_422_problem(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.post(
        "/api/v1/apikeys", content=b"{not json", headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not-found")


def test_crash_is_a_500_problem_without_traceback(db: Database, settings: Settings) -> None:
    app = create_app(settings, database=db, run_workers=False)
    boom = APIRouter()

    @boom.get("/boom")
    def _boom() -> None:
        raise RuntimeError("secret internal detail")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "req-123"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-request-id"] == "req-123"


def test_oversized_body_is_413(db: Database, settings: Settings, admin_headers: dict[str, str]) -> None:
    small = settings.model_copy(update={"max_body_bytes": 2048})
    app = create_app(small, database=db, run_workers=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/apikeys", json={"name": "x" * 5000, "scope": "read"}, headers=admin_headers)
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
