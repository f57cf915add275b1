"""Back-testing a draft policy over stored histories: same engine, nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from app.clocks.backtest import backtest
from app.core.db import Database
from app.policies.spec import parse_policy
from tests.api.factories import created, event, setup_support


def test_a_stricter_draft_shows_more_breaches(client: TestClient, admin_headers: dict[str, str], db: Database) -> None:
    setup_support(client, admin_headers)
    reply = {"type": "comment", "author_role": "agent", "public": True}
    client.post(
        "/api/v1/events",
        headers=admin_headers,
        json=[
            created(key="A"),
            event(key="A", id="r", at="2025-01-06T09:10:00Z", **reply),
            created(key="B"),
            event(key="B", id="r", at="2025-01-06T09:40:00Z", **reply),
        ],
    )
    draft = parse_policy(
        {
            "kind": "policy",
            "name": "draft",
            "match": {"source": ["api"]},
            "targets": [{"first_response": {"target": "15m"}}],
        },
        known_calendars=[],
    )
    with db.transaction(write=False) as session:
        result = backtest(session, draft, datetime(2025, 1, 6, 12, tzinfo=UTC))
    assert result.tickets == 2
    assert dict(result.draft.counts["first_response"]) == {"met": 1, "breached": 1}
    assert dict(result.current.counts["first_response"]) == {"met": 2}
    assert result.draft.compliance("first_response") == 50.0
