"""Ids and numbers no database row can hold are a 422 naming the field, never a 500 (both databases)."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from tests.api.factories import created, setup_support

TOO_BIG = [2**31, 2**63, 10**30]


@pytest.mark.parametrize("number", TOO_BIG)
@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("DELETE", "/api/v1/apikeys/{n}", "key_id"),
        ("DELETE", "/api/v1/exclusions/{n}", "window_id"),
        ("GET", "/api/v1/webhooks/{n}", "subscription_id"),
        ("PATCH", "/api/v1/webhooks/{n}", "subscription_id"),
        ("DELETE", "/api/v1/webhooks/{n}", "subscription_id"),
        ("GET", "/api/v1/deliveries/{n}", "delivery_id"),
        ("POST", "/api/v1/deliveries/{n}/redeliver", "delivery_id"),
        ("GET", "/api/v1/deliveries?subscription_id={n}", "subscription_id"),
        ("GET", "/api/v1/deliveries?event_id={n}", "event_id"),
        ("GET", "/api/v1/stream?last_event_id={n}", "last_event_id"),
        ("GET", "/api/v1/tickets/api/T-1/cycles?metric=resolution&before={n}", "before"),
    ],
)
def test_ids_beyond_the_integer_column(
    client: TestClient, admin_headers: dict[str, str], method: str, path: str, field: str, number: int
) -> None:
    response = client.request(method, path.format(n=number), headers=admin_headers, json={})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


@pytest.mark.parametrize("body", [{"metric": "resolution", "cycle": 2**31}, {"metric": "resolution", "cycle": 0}])
def test_an_exemption_cycle_beyond_the_column(
    client: TestClient, admin_headers: dict[str, str], body: dict[str, object]
) -> None:
    setup_support(client, admin_headers)
    client.post("/api/v1/events", json=created(), headers=admin_headers)
    response = client.post("/api/v1/tickets/api/T-1/exemptions", json={**body, "reason": "x"}, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert "cycle" in response.text


# b"\xb2" is "²" as a server reads header bytes (Latin-1): a digit to str.isdigit, not to int().
@pytest.mark.parametrize("value", [b"\xb2", b"1\xb2", str(2**31).encode(), b"-1"])
def test_last_event_id_takes_ascii_digits_of_an_id_only(
    client: TestClient, admin_headers: dict[str, str], value: bytes
) -> None:
    headers: dict[str, str | bytes] = {**admin_headers, "Last-Event-ID": value}
    response = client.get("/api/v1/stream", headers=headers)
    assert response.status_code == 422, response.text
    assert "Last-Event-ID" in response.text


@pytest.mark.parametrize("cursor", [[None, 2**63], [None, "7"], [None, 0], "x"])
def test_a_clock_cursor_with_an_impossible_row_id(
    client: TestClient, admin_headers: dict[str, str], cursor: object
) -> None:
    raw = base64.urlsafe_b64encode(json.dumps(cursor).encode()).decode().rstrip("=")
    response = client.get(f"/api/v1/clocks?cursor={raw}", headers=admin_headers)
    assert response.status_code == 422, response.text
    assert "cursor" in response.text
