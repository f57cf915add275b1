"""``sla-tracker demo``: seed the demo dataset and print an API key to try the API with."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import func, select

from app.apply.service import apply_documents, load_documents
from app.auth import service as apikeys
from app.cli_support import database_from_settings, fail
from app.core.clock import system_now
from app.core.config import get_settings
from app.core.schema import schema_status
from app.ingestion import flow
from app.tickets.events import NormalizedEvent
from app.tickets.models import TicketRow

DEMO_FILE = Path(__file__).with_name("demo.yaml")
TITLES = [
    "Checkout page returns 502",
    "Cannot reset password",
    "Invoice PDF missing VAT line",
    "SSO login loops",
    "Export to CSV times out",
    "Webhook retries flooding our endpoint",
    "Mobile app crashes on upload",
    "Wrong timezone on reports",
    "API rate limit too low",
    "Data import stuck at 99%",
    "Email notifications delayed",
    "Dashboard widgets blank",
    "Cannot add team member",
    "2FA codes rejected",
]
PEOPLE = ["ana.lima", "ben.ito", "chen.wu", "dara.oz", None]


def _events(index: int, now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    key = f"DEMO-{index + 1}"
    priority = rng.choice(["P1", "P2", "P2", "P3", "P3", "P4"])
    tier = rng.choice(["platinum", "gold", "standard", "standard"])
    opened = now - timedelta(minutes=rng.randint(5, 60 * 30))
    base = {"source": "demo", "key": key}
    ticket = {
        "title": TITLES[index % len(TITLES)],
        "priority": priority,
        "tier": tier,
        "status": "Open",
        "status_category": "open",
        "project": "SUP",
        "type": "Incident",
        "assignee": rng.choice(PEOPLE),
        "url": f"https://example.atlassian.net/browse/{key}",
    }
    events: list[dict[str, Any]] = [
        {**base, "id": "created", "type": "created", "at": opened.isoformat(), "ticket": ticket}
    ]
    fate = index % 6
    if fate in (1, 2, 3):
        events.append(
            {
                **base,
                "id": "reply",
                "type": "comment",
                "author_role": "agent",
                "public": True,
                "at": (opened + timedelta(minutes=rng.randint(3, 40))).isoformat(),
            }
        )
    if fate == 2:
        waiting = opened + timedelta(minutes=rng.randint(45, 90))
        if waiting < now:
            events.append(
                {
                    **base,
                    "id": "wait",
                    "type": "status_changed",
                    "to": "Waiting for customer",
                    "to_category": "waiting",
                    "at": waiting.isoformat(),
                }
            )
    if fate == 3:
        done = opened + timedelta(minutes=rng.randint(60, 240))
        if done < now:
            events.append(
                {
                    **base,
                    "id": "done",
                    "type": "status_changed",
                    "to": "Resolved",
                    "to_category": "resolved",
                    "at": done.isoformat(),
                }
            )
    return events


def demo_command(
    tickets: int = typer.Option(36, min=1, max=2000, help="How many demo tickets to create."),
) -> None:
    """Seed a demo calendar, policy and tickets (once), and print a fresh admin API key."""
    db = database_from_settings()
    if not schema_status(db.engine).up_to_date:
        fail("the schema is not current; run `sla-tracker migrate` first")
    now = system_now()
    with db.transaction() as session:
        apply_documents(session, load_documents(DEMO_FILE.read_text()), actor="demo", now=now, dry_run=False)
        seeded = session.scalar(select(func.count()).select_from(TicketRow).where(TicketRow.source == "demo"))
        if not seeded:
            rng = random.Random(7)
            raw = [e for i in range(tickets) for e in _events(i, now, rng)]
            flow.ingest(session, [[NormalizedEvent.model_validate(e) for e in raw]], now)
        for row in apikeys.list_keys(session):
            if row.name == "demo" and row.revoked_at is None:
                row.revoked_at = now
        _, key = apikeys.create_key(session, name="demo", scope="admin", now=now)
    settings = get_settings()
    url = f"http://{settings.host}:{settings.port}"
    typer.echo(f"demo data ready: {seeded or tickets} tickets from source 'demo'")
    typer.echo(f"demo API key (admin; shown once): {key}")
    typer.echo(f"try: curl -H 'Authorization: Bearer {key}' {url}/api/v1/sla/at-risk?within=8h")
    typer.echo(f"board: {url}/  ·  API docs: {url}/docs")
