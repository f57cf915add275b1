"""Logs are JSON with the request id, and credentials never reach them."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import Database
from app.core.logging import JsonFormatter, redact, request_id_var
from app.main import create_app


def test_redact_masks_credentials() -> None:
    text = "auth Bearer slat_abc_def token=xyz https://user:pw@db/x Basic dXNlcjpwdw=="
    masked = redact(text)
    for secret in ("slat_abc_def", "xyz", ":pw@", "dXNlcjpwdw=="):
        assert secret not in masked


def test_formatter_emits_json_with_request_id() -> None:
    token = request_id_var.set("rid-1")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("Bearer slat_1_2",), None)
        entry = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert entry["request_id"] == "rid-1"
    assert entry["msg"] == "hello Bearer ***"


def test_access_log_never_contains_the_api_key(
    db: Database, settings: Settings, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings.model_copy(update={"access_log": True}), database=db, run_workers=False)
    key = admin_headers["Authorization"].split()[1]
    with caplog.at_level(logging.INFO), TestClient(app) as client:
        client.get("/api/v1/apikeys", headers=admin_headers)
    lines = [JsonFormatter().format(r) for r in caplog.records]
    assert any('"route": "/api/v1/apikeys"' in line for line in lines)
    assert all(key not in line for line in lines)


def test_a_client_that_disconnects_before_its_body_is_logged_at_debug_only(
    client: TestClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[dict[str, object]] = []
    headers = [(k.lower().encode(), v.encode()) for k, v in admin_headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/apply",
        "raw_path": b"/api/v1/apply",
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"content-type", b"application/yaml"), (b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    caplog.set_level(logging.DEBUG)
    client.portal.call(client.app, scope, receive, send)  # type: ignore[union-attr]
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert any("client disconnected" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
