"""``/board/data``: rows soonest breach first, live numbers, calendar windows, states, counts and filters."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.board.service import BoardFilter, board_state, paused_label
from app.core.db import Database
from app.core.errors import ValidationProblem
from tests.api.factories import created, setup_support
from tests.board.helpers import seed_board, sign_in
from tests.conftest import FakeClock, make_key


def _data(client: TestClient, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = client.get(f"/board/data{query}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_rows_sorted_by_soonest_breach_with_live_numbers(
    client: TestClient, admin_headers: dict[str, str], read_headers: dict[str, str], clock: FakeClock
) -> None:
    seed_board(client, admin_headers)
    clock.set(datetime(2025, 1, 6, 9, 30, tzinfo=UTC))
    data = _data(client, read_headers)
    order = [(r["key"], r["metric"]) for r in data["rows"]]
    assert order[:3] == [("T-1", "first_response"), ("T-3", "first_response"), ("T-2", "first_response")]
    assert [r["sort_at"] for r in data["rows"]] == sorted(r["sort_at"] for r in data["rows"])
    first = data["rows"][0]
    assert first["remaining_seconds"] == 30 * 60  # the same number as /api/v1/clocks
    api = client.get("/api/v1/clocks?metric=first_response&priority=P1", headers=read_headers).json()["items"][0]
    assert api["remaining_seconds"] == first["remaining_seconds"]
    assert first["due_at"] == "2025-01-06T10:00:00Z"
    assert (first["open"], first["open_until"], first["opens_at"]) == (True, "2025-01-06T16:00:00Z", None)
    assert (first["title"], first["assignee"], first["state"]) == ("Mail is down", "ana", "ok")
    paused = data["rows"][1]
    assert paused["paused"]
    assert paused["state"] == "paused"
    assert paused["paused_label"] == "waiting for customer"
    assert paused["remaining_seconds"] == 8 * 3600 - 30 * 60
    assert paused["open"] is False
    assert next(r for r in data["rows"] if r["key"] == "T-2")["url"] == "https://jira.example/browse/T-2"
    assert data["counts"] == {"breached": 0, "over_target": 0, "warning": 0, "ok": 6, "paused": 2}
    assert data["total"] == len(data["rows"]) == 8


def test_outside_business_hours_says_when_it_opens(
    client: TestClient, admin_headers: dict[str, str], read_headers: dict[str, str], clock: FakeClock
) -> None:
    seed_board(client, admin_headers)
    clock.set(datetime(2025, 1, 11, 12, 0, tzinfo=UTC))  # Saturday
    row = _data(client, read_headers, "?metric=resolution&priority=P1")["rows"][0]
    assert (row["open"], row["open_until"], row["opens_at"]) == (False, None, "2025-01-13T08:00:00Z")


def test_breach_and_counts_follow_time(
    client: TestClient, admin_headers: dict[str, str], read_headers: dict[str, str], clock: FakeClock
) -> None:
    seed_board(client, admin_headers)
    clock.set(datetime(2025, 1, 6, 10, 30, tzinfo=UTC))
    data = _data(client, read_headers)
    first = data["rows"][0]
    assert (first["key"], first["state"], first["remaining_seconds"]) == ("T-1", "breached", -30 * 60)
    assert data["counts"]["breached"] == 1


def test_filters_narrow_rows_but_state_counts_stay(
    client: TestClient, admin_headers: dict[str, str], read_headers: dict[str, str], clock: FakeClock
) -> None:
    seed_board(client, admin_headers)
    clock.set(datetime(2025, 1, 6, 9, 30, tzinfo=UTC))
    assert {r["key"] for r in _data(client, read_headers, "?priority=P1")["rows"]} == {"T-1"}
    assert {r["key"] for r in _data(client, read_headers, "?project=OPS")["rows"]} == {"T-4"}
    assert {r["key"] for r in _data(client, read_headers, "?assignee=ana&metric=resolution")["rows"]} == {"T-1"}
    paused = _data(client, read_headers, "?state=paused")
    assert {r["key"] for r in paused["rows"]} == {"T-3"}
    assert paused["counts"]["ok"] == 6  # counts ignore the state filter: they are the buttons to switch it
    assert paused["filters"] == {"state": ["paused"]}
    two = _data(client, read_headers, "?priority=P1&priority=P3&source=api&project=SUP")
    assert {r["key"] for r in two["rows"]} == {"T-1", "T-2", "T-3"}
    bad = client.get("/board/data?state=late", headers=read_headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "state"


def test_board_page_keeps_filters_in_the_url(client: TestClient, admin_headers: dict[str, str], db: Database) -> None:
    seed_board(client, admin_headers)
    assert sign_in(client, make_key(db, "read"), "/?priority=P1").headers["location"] == "/?priority=P1"
    page = client.get("/?priority=P1&state=ok")
    assert page.status_code == 200
    assert '<option value="P1" selected>' in page.text
    assert "/board/data?priority=P1\\u0026state=ok" in page.text  # the page's script fetches the same filters
    assert 'href="/?priority=P1&amp;state=breached"' in page.text  # state counts keep the other filters
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_board_state_and_pause_labels() -> None:
    now = datetime(2025, 1, 6, 12, tzinfo=UTC)
    assert board_state({"breached": True, "state": "paused"}, now) == "breached"
    assert board_state({"state": "paused"}, now) == "paused"
    assert board_state({"state": "running", "over_target": True}, now) == "over_target"
    assert board_state({"state": "running", "warn_at": "2025-01-06T11:00:00Z"}, now) == "warning"
    assert board_state({"state": "running", "warn_at": "2025-01-06T13:00:00Z"}, now) == "ok"
    assert paused_label("status_category:waiting", None) == "waiting"
    assert paused_label("status:On hold", "On hold") == "On hold"
    assert paused_label("exclusion:datacenter outage", None) == "datacenter outage"
    assert paused_label("field:blocked", None) == "blocked is set"


def test_filter_parsing() -> None:
    f = BoardFilter.parse([("tier", "gold"), ("tier", "silver"), ("junk", "x"), ("metric", " ")])
    assert f.as_dict() == {"tier": ["gold", "silver"]}
    assert f.as_pairs() == [("tier", "gold"), ("tier", "silver")]
    with pytest.raises(ValidationProblem):
        BoardFilter.parse([("state", "late")])


def test_a_large_board_page_carries_its_first_rows_and_fetches_the_rest(
    client: TestClient, admin_headers: dict[str, str], db: Database
) -> None:
    setup_support(client, admin_headers)
    batch = [created(key=f"L-{i}", at="2025-01-06T08:00:00Z", priority="P3") for i in range(110)]
    assert client.post("/api/v1/events", json=batch, headers=admin_headers).status_code == 200
    sign_in(client, make_key(db, "read"))
    page = client.get("/").text
    found = re.search(r'<script type="application/json" id="board-config">(.*?)</script>', page, re.S)
    assert found
    initial = json.loads(found.group(1))["initial"]
    assert (len(initial["rows"]), initial["partial"], initial["shown"], initial["total"]) == (200, True, 220, 220)
