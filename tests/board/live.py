"""The real app on loopback with a migrated SQLite file and the real clock, seeded relative to now,
plus a headless Chromium to look at it. Shared by the browser tests, bench/board.py and bench/screenshots.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from app.auth.service import create_key
from app.core.clock import system_now
from app.core.config import Settings
from app.core.db import Database, build_engine
from app.core.schema import upgrade
from app.main import create_app
from tests.fakes.loopback import serve_asgi

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def board_documents(now: datetime) -> str:
    """A 24x7 policy (so countdowns tick whenever the tests run) and an office calendar closed today."""
    closed_today = _WEEKDAYS[(now.weekday() + 2) % 7]  # open only the day after tomorrow
    return f"""
name: office
timezone: Europe/Berlin
hours: {{{closed_today}: ["09:00-17:00"]}}
---
kind: policy
name: board-demo
calendar: 24x7
match: {{source: [api]}}
metrics:
  first_response: {{start: [created], stop: [agent_public_comment], pause_when: {{status_category: [waiting]}}}}
  resolution: {{start: [created], stop: [resolved], pause_when: {{status_category: [waiting]}}}}
targets:
  - {{tier: office, first_response: {{target: 4h, calendar: office}}, resolution: {{target: 16h, calendar: office}}}}
  - {{priority: P1, first_response: {{target: 30m, limit: 1h}}, resolution: {{target: 4h}}}}
  - {{priority: P2, first_response: {{target: 2h, warn: 50%}}, resolution: {{target: 8h}}}}
  - {{first_response: {{target: 8h, warn: 80%}}, resolution: {{target: 40h}}}}
"""


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def created(key: str, at: datetime, *, priority: str, tier: str = "gold", **ticket: Any) -> dict[str, Any]:
    """A ``created`` event for ticket ``key`` of source ``api``."""
    snapshot = {
        "title": f"Customer issue {key}",
        "priority": priority,
        "tier": tier,
        "status": "Open",
        "status_category": "open",
        "project": "SUP",
        "type": "Incident",
        "url": f"https://helpdesk.example/browse/{key}",
        **ticket,
    }
    return {"source": "api", "key": key, "id": f"{key}-created", "type": "created", "at": _iso(at), "ticket": snapshot}


def waiting(key: str, at: datetime) -> dict[str, Any]:
    """The ticket goes to "Waiting for customer" (its clocks pause)."""
    return {
        "source": "api",
        "key": key,
        "id": f"{key}-waiting",
        "type": "status_changed",
        "at": _iso(at),
        "to": "Waiting for customer",
        "to_category": "waiting",
    }


def back_to_work(key: str, at: datetime) -> dict[str, Any]:
    """The customer answered: the ticket is "In progress" again (its clocks resume)."""
    return {
        "source": "api",
        "key": key,
        "id": f"{key}-back",
        "type": "status_changed",
        "at": _iso(at),
        "to": "In progress",
        "to_category": "open",
    }


def priority_changed(key: str, at: datetime, to: str) -> dict[str, Any]:
    return {"source": "api", "key": key, "id": f"{key}-prio-{to}", "type": "priority_changed", "at": _iso(at), "to": to}


def demo_events(now: datetime) -> list[dict[str, Any]]:
    """A small, varied board: breached, over target, warning, ok, paused and outside-hours clocks."""
    people = ["Ana Silva", "Ben Okafor", "Chen Wei", None]
    titles = [
        "VPN drops every 10 minutes for the Lisbon office",
        "Invoice PDF shows the wrong VAT rate",
        "Cannot reset password: email never arrives",
        "API returns 502 on /orders during peak hours",
        "New starter needs access to the finance share",
        "Printer on floor 3 jams on duplex jobs",
        "SSO login loops back to the sign-in page",
        "Export to CSV times out for large reports",
    ]
    plan = [  # key, minutes ago, priority, tier
        ("SUP-101", 150, "P1", "platinum"),  # waited for the customer, then breached its first response
        ("SUP-102", 40, "P1", "gold"),  # over target, under limit
        ("SUP-103", 70, "P2", "gold"),  # past the 50% warning
        ("SUP-104", 10, "P2", "silver"),
        ("SUP-105", 30, "P3", "silver"),
        ("SUP-106", 200, "P3", "gold"),
        ("SUP-107", 20, "P1", "platinum"),
        ("SUP-108", 5, "P4", "office"),  # office calendar: outside business hours
    ]
    events = []
    for index, (key, ago, priority, tier) in enumerate(plan):
        events.append(
            created(
                key,
                now - timedelta(minutes=ago),
                priority=priority,
                tier=tier,
                title=titles[index],
                assignee=people[index % len(people)],
                project="SUP" if index % 3 else "OPS",
            )
        )
    events.append(waiting("SUP-106", now - timedelta(minutes=50)))
    events += [waiting("SUP-101", now - timedelta(minutes=140)), back_to_work("SUP-101", now - timedelta(minutes=100))]
    return events


def bulk_events(now: datetime, tickets: int) -> list[dict[str, Any]]:
    """``tickets`` tickets (two open clocks each), spread over the last hours."""
    priorities = ["P1", "P2", "P3", "P4"]
    return [
        created(
            f"LOAD-{i}",
            now - timedelta(seconds=37 * i % 14_400),
            priority=priorities[i % 4],
            assignee=f"agent {i % 17}",
        )
        for i in range(tickets)
    ]


@dataclass
class LiveApp:
    """A served app: its base URL, database, and keys of each scope."""

    url: str
    db: Database
    admin_key: str
    read_key: str

    def post(self, path: str, body: Any, *, text: bool = False) -> httpx.Response:
        """POST as admin (JSON, or a YAML/JSON text body)."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        if text:
            response = httpx.post(self.url + path, content=body, headers=headers, timeout=60)
        else:
            response = httpx.post(self.url + path, json=body, headers=headers, timeout=60)
        assert response.status_code < 300, response.text
        return response

    def ingest(self, events: list[dict[str, Any]]) -> None:
        """Post events in batches the API accepts."""
        for start in range(0, len(events), 1000):
            self.post("/api/v1/events", events[start : start + 1000])


@contextmanager
def live_app(*, app_factory: Any = None, **settings: Any) -> Iterator[LiveApp]:
    """Serve the app on loopback over a fresh migrated SQLite file, with the board's documents applied."""
    folder = Path(tempfile.mkdtemp(prefix="sla-board-"))
    engine = build_engine(f"sqlite:///{folder / 'board.db'}")
    upgrade(engine)
    db = Database(engine)
    config = Settings(env="test", data_dir=folder, access_log=False, session_secret="s" * 40, **settings)
    app = create_app(config, database=db, now=system_now, run_workers=False)
    if app_factory is not None:
        app = app_factory(app)
    with db.transaction() as session:
        _, admin = create_key(session, name="board-admin", scope="admin", now=system_now())
        _, read = create_key(session, name="board-viewer", scope="read", now=system_now())
    try:
        with serve_asgi(app) as url:
            served = LiveApp(url, db, admin, read)
            served.post("/api/v1/apply", board_documents(system_now()), text=True)
            yield served
    finally:
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def browser(color_scheme: Literal["light", "dark"] = "light") -> Iterator[Any]:
    """A Playwright browser context on Debian's Chromium, with a fresh profile."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="sla-chromium-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1600, "height": 900},
                color_scheme=color_scheme,
                timezone_id="Europe/Berlin",
                locale="en-GB",
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(page: Any, app: LiveApp, key: str | None = None, next_path: str = "/") -> None:
    """Sign in through the form, as a person would."""
    page.goto(f"{app.url}/login?{urlencode({'next': next_path})}")
    page.fill("#key", key or app.read_key)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if "/login" in page.url:
        raise AssertionError("sign-in failed")
    if page.url.rstrip("/") == app.url or "/?" in page.url:
        page.wait_for_selector("#rows tr.row, #empty:not([hidden])")
