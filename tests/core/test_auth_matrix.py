"""Every route needs an API key, except the few that authenticate by their own means."""

from __future__ import annotations

import re

from fastapi import routing
from fastapi.testclient import TestClient

# Listed explicitly: each is open on purpose, or checks its own credentials.
EXEMPT = {
    "/healthz": "liveness probe",
    "/readyz": "readiness probe",
    "/metrics": "Prometheus scrape",
    "/openapi.json": "API description",
    "/docs": "API docs UI",
    "/docs/oauth2-redirect": "API docs UI",
    "/redoc": "API docs UI",
    "/webhooks/jira/{connection}": "HMAC X-Hub-Signature or URL token",
    "/webhooks/servicenow/{connection}": "HMAC signature or bearer token",
    "/login": "the board's sign-in form",
    "/logout": "ends a board session",
    "/static/{path:path}": "board assets",
}
# Pages of the board answer a browser without a session by redirecting it to /login.
REDIRECT_TO_LOGIN = {"/", "/tickets/{source}/{key}", "/wall/{token}"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _routes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for ctx in routing.iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        for method in sorted((ctx.methods or set()) - {"HEAD"}):
            found.append((method, ctx.path))
    return found


def test_every_route_without_a_key_is_401_problem(client: TestClient) -> None:
    checked = 0
    for method, path in _routes(client):
        if path in EXEMPT:
            continue
        response = client.request(method, _concrete(path), follow_redirects=False)
        if path in REDIRECT_TO_LOGIN and response.status_code == 303:
            assert response.headers["location"].startswith("/login"), path
            continue
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.headers["content-type"].startswith("application/problem+json"), path
        assert response.json()["status"] == 401
        checked += 1
    assert checked >= 3  # the walk really found guarded routes


def test_unknown_key_is_401_and_wrong_scope_is_403(client: TestClient, read_headers: dict[str, str]) -> None:
    bad = client.get("/api/v1/apikeys", headers={"Authorization": "Bearer slat_nothere_x"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    weak = client.get("/api/v1/apikeys", headers=read_headers)
    assert weak.status_code == 403
    assert weak.headers["content-type"].startswith("application/problem+json")
    assert "admin" in weak.json()["detail"]


def test_revoked_key_stops_working_at_once(client: TestClient, admin_headers: dict[str, str]) -> None:
    created = client.post("/api/v1/apikeys", json={"name": "bot", "scope": "read"}, headers=admin_headers)
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("slat_")
    listed = client.get("/api/v1/apikeys", headers=admin_headers).json()
    assert all("key" not in row and "key_hash" not in row for row in listed)
    assert client.get("/api/v1/apikeys", headers={"Authorization": f"Bearer {key}"}).status_code == 403
    assert client.delete(f"/api/v1/apikeys/{created.json()['id']}", headers=admin_headers).status_code == 204
    assert client.get("/api/v1/apikeys", headers={"Authorization": f"Bearer {key}"}).status_code == 401
