"""Small helpers for the board's HTTP tests: seeding a board and signing in through the form."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.api.factories import created, event, setup_support


def seed_board(client: TestClient, headers: dict[str, str]) -> None:
    """On the eu-support calendar (open 08:00-16:00 UTC in January): T-1 P1 at 09:00, T-2 P3 at 08:30,
    T-3 P3 at 08:00 that waits for the customer from 08:30, T-4 P3 of another project."""
    setup_support(client, headers)
    batch: list[dict[str, Any]] = [
        created(key="T-1", at="2025-01-06T09:00:00Z", priority="P1", title="Mail is down", assignee="ana"),
        created(key="T-2", at="2025-01-06T08:30:00Z", priority="P3", url="https://jira.example/browse/T-2"),
        created(key="T-3", at="2025-01-06T08:00:00Z", priority="P3"),
        event(
            key="T-3",
            id="w",
            type="status_changed",
            at="2025-01-06T08:30:00Z",
            to="Waiting for customer",
            to_category="waiting",
        ),
        created(key="T-4", at="2025-01-06T08:45:00Z", priority="P3", project="OPS"),
    ]
    assert client.post("/api/v1/events", json=batch, headers=headers).status_code == 200


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, key: str, next_path: str = "/") -> Response:
    """Sign in through the form (GET /login for the nonce cookie and token, then POST)."""
    form = client.get("/login", params={"next": next_path})
    assert form.status_code == 200
    body = {"key": key, "csrf": csrf_of(form.text), "next": next_path}
    response: Response = client.post("/login", data=body, follow_redirects=False)
    return response


def set_cookie_header(response: Response, name: str) -> str:
    """The ``Set-Cookie`` header that sets ``name``."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")
