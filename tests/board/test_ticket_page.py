"""The ticket page: clocks with their drawn timelines, the event history, policy version and exemptions."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import yaml
from fastapi.testclient import TestClient

from app.board.timeline import split_by_hours
from app.calendars.engine import compile_calendar
from app.calendars.spec import parse_calendar
from app.core.db import Database
from tests.api.factories import CALENDAR_YAML, created
from tests.board.helpers import seed_board, sign_in
from tests.conftest import FakeClock, make_key


def test_ticket_page_draws_each_clock_and_lists_history(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    seed_board(client, admin_headers)
    exempt = {"metric": "resolution", "reason": "customer asked to wait for the release"}
    assert client.post("/api/v1/tickets/api/T-3/exemptions", json=exempt, headers=admin_headers).status_code == 201
    clock.set(datetime(2025, 1, 6, 17, 0, tzinfo=UTC))  # after closing time (16:00 UTC)
    sign_in(client, make_key(db, "read"))
    page = client.get("/tickets/api/T-1")
    assert page.status_code == 200
    html = page.text
    assert "Mail is down" in html
    assert 'support <span class="muted">v1</span>' in html
    # T-1's first response (1h from 09:00) breached at 10:00: counted, then outside hours since 16:00.
    assert 'class="seg seg-running"' in html
    assert 'class="seg seg-late"' in html  # counting past the limit since 10:00
    assert 'class="seg seg-closed"' in html  # outside business hours since 16:00
    assert 'class="mark mark-breach"' in html
    assert 'class="mark mark-now"' in html
    assert re.search(r'<time datetime="2025-01-06T09:00:00Z" data-local>', html)
    assert "created" in html
    waited = client.get("/tickets/api/T-3").text
    assert 'class="seg seg-paused"' in waited
    assert "paused: waiting" in waited
    assert "→ Waiting for customer (waiting)" in waited
    assert "customer asked to wait for the release" in waited
    assert client.get("/tickets/api/NOPE").status_code == 404


def test_running_span_is_cut_at_opening_hours() -> None:
    calendar = compile_calendar(parse_calendar(yaml.safe_load(CALENDAR_YAML)))
    start, end = datetime(2025, 1, 6, 15, 0, tzinfo=UTC), datetime(2025, 1, 7, 9, 0, tzinfo=UTC)
    pieces = split_by_hours(calendar, start, end)
    assert pieces == [
        ("running", start, datetime(2025, 1, 6, 16, 0, tzinfo=UTC)),
        ("closed", datetime(2025, 1, 6, 16, 0, tzinfo=UTC), datetime(2025, 1, 7, 8, 0, tzinfo=UTC)),
        ("running", datetime(2025, 1, 7, 8, 0, tzinfo=UTC), end),
    ]
    assert split_by_hours(None, start, end) == [("running", start, end)]


def test_a_ticket_url_is_a_link_only_when_it_is_http_or_https(
    client: TestClient, admin_headers: dict[str, str], clock: FakeClock, db: Database
) -> None:
    seed_board(client, admin_headers)
    for n, url in enumerate(["javascript:alert(document.cookie)", " JavaScript:alert(1)", "data:text/html,x"]):
        key = f"X-{n}"
        body = created(key=key, at="2025-01-06T09:00:00Z", priority="P3", url=url)
        assert client.post("/api/v1/events", json=body, headers=admin_headers).status_code == 200
    clock.set(datetime(2025, 1, 6, 10, 0, tzinfo=UTC))
    sign_in(client, make_key(db, "read"))
    for n in range(3):
        html = client.get(f"/tickets/api/X-{n}").text.lower()
        assert "javascript:" not in html
        assert "data:text" not in html
    assert 'href="https://jira.example/browse/T-2"' in client.get("/tickets/api/T-2").text
    rows = {row["key"]: row for row in client.get("/board/data").json()["rows"]}
    assert [rows[f"X-{n}"]["url"] for n in range(3)] == [None, None, None]
    assert rows["T-2"]["url"] == "https://jira.example/browse/T-2"
