"""A database error never writes a secret to the log or the answer (SQLite and PostgreSQL).

The database refuses every write to the subscriptions table (a trigger), as a full disk or a value
it cannot store would; the requests that carry a webhook signing secret must fail without it
appearing anywhere.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.core.db import Database

SECRET = "whsec_" + base64.b64encode(b"never-in-a-log-line-or-answer").decode()
PATCHED = "whsec_" + base64.b64encode(b"nor-the-one-it-is-changed-to").decode()


@contextmanager
def _refused(db: Database) -> Iterator[None]:
    """Every INSERT and UPDATE on webhook_subscriptions fails inside the database."""
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.begin() as conn:
        if postgres:
            refuse = "BEGIN RAISE EXCEPTION 'refused'; END"
            conn.execute(text(f"CREATE FUNCTION refuse() RETURNS trigger AS $$ {refuse} $$ LANGUAGE plpgsql"))
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON webhook_subscriptions "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )
        else:
            for action in ("INSERT", "UPDATE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER refuse_{action.lower()} BEFORE {action} ON webhook_subscriptions "
                        "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                    )
                )
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            if postgres:
                conn.execute(text("DROP TRIGGER refuse ON webhook_subscriptions"))
                conn.execute(text("DROP FUNCTION refuse()"))
            else:
                conn.execute(text("DROP TRIGGER refuse_insert"))
                conn.execute(text("DROP TRIGGER refuse_update"))


def test_secret_bearing_requests_through_a_failing_database_leave_no_secret_behind(
    client: TestClient, admin_headers: dict[str, str], db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["sla.breached"], "secret": SECRET}
    created = client.post("/api/v1/webhooks", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    subscription = created.json()["id"]

    caplog.set_level(logging.DEBUG)
    answers = []
    for request in _requests(subscription):
        with _refused(db):
            answers.append(client.request(**request, headers=admin_headers))
    assert all(a.status_code >= 500 for a in answers), [a.status_code for a in answers]
    assert "refused" in caplog.text  # the database's own message is logged
    for secret in (SECRET, PATCHED):
        assert secret not in caplog.text
        assert all(secret not in a.text for a in answers)


def _requests(subscription: int) -> list[dict[str, object]]:
    new = {"url": "http://127.0.0.1:9/other", "event_types": ["sla.warning"], "secret": SECRET}
    return [
        {"method": "POST", "url": "/api/v1/webhooks", "json": new},
        {"method": "PATCH", "url": f"/api/v1/webhooks/{subscription}", "json": {"secret": PATCHED}},
    ]
