"""Inputs at the edges get a 422 naming the field, never a 500 from deep inside the clock arithmetic."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.core.durations import parse_duration


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        (
            "POST",
            "/api/v1/events",
            {"source": "api", "key": "T", "id": "1", "type": "created", "at": "9999-12-31T23:59:59Z", "ticket": {}},
            "at",
        ),
        (
            "POST",
            "/api/v1/events",
            {"source": "api", "key": "T", "id": "1", "type": "created", "at": "0001-01-01T00:00:00Z", "ticket": {}},
            "at",
        ),
        ("POST", "/api/v1/calendars/24x7/due", {"start": "0001-01-01T00:00:00Z", "duration": "1h"}, "start"),
        (
            "POST",
            "/api/v1/calendars/24x7/elapsed",
            {"start": "2025-01-01T00:00:00Z", "end": "9999-01-01T00:00:00Z"},
            "end",
        ),
        ("GET", "/api/v1/tickets/api/T?at=9999-01-01T00:00:00Z", None, "at"),
        ("GET", "/api/v1/sla/at-risk?within=99999999999d", None, "within"),
        (
            "POST",
            "/api/v1/exclusions",
            {"start": "0001-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z", "reason": "x"},
            "start",
        ),
        ("GET", "/api/v1/clocks?due_before=2025-01-01T00:00:00", None, "due_before"),
        ("GET", "/api/v1/reports/compliance?from=2025-01-01T00:00:00Z&to=9999-01-01T00:00:00Z", None, "to"),
    ],
)
def test_out_of_range_or_naive_instants_are_422(
    client: TestClient, admin_headers: dict[str, str], method: str, url: str, body: object, field: str
) -> None:
    response = client.request(method, url, json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in {e["field"] for e in response.json()["errors"]}


def test_durations_longer_than_a_century_are_refused() -> None:
    assert parse_duration("36500d") == 36500 * 86400
    with pytest.raises(ValueError, match="century"):
        parse_duration("99999999999d")
