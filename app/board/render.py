"""Rendering board pages: the Jinja2 environment, its filters, labels, and the headers every page carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from app.board.service import STATES, link_url
from app.core.instants import utc_iso

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

STATE_LABELS = {
    "breached": "Breached",
    "over_target": "Over target",
    "warning": "Warning",
    "ok": "On track",
    "paused": "Paused",
    "met": "Met",
    "cancelled": "Cancelled",
}
# Each state also has a shape, so the board reads without colour.
STATE_ICONS = {"breached": "✖", "over_target": "▲", "warning": "!", "ok": "✓", "paused": "❚❚", "met": "✓"}
# Pages never load anything from elsewhere; scripts and styles are files of the app, never inline.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Wallboard URLs carry their token: never hand them to another site as a referrer.
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _to_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def iso(value: Any) -> str:
    """UTC ISO-8601 with a ``Z``, or an empty string."""
    instant = _to_datetime(value)
    return utc_iso(instant) or ""


def when(value: Any) -> Markup:
    """A ``<time>`` element: UTC text that the page's script rewrites in the viewer's time zone."""
    instant = _to_datetime(value)
    if instant is None:
        return Markup("—")
    text = instant.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")
    return Markup('<time datetime="{}" data-local>{}</time>').format(iso(instant), text)


def duration(seconds: Any) -> str:
    """Business seconds for people: ``2d 3h``, ``3h 04m``, ``4m 05s`` (absolute value; the label says late)."""
    if seconds is None:
        return "—"
    left = abs(int(seconds))
    days, rest = divmod(left, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def event_summary(event: dict[str, Any]) -> str:
    """One line on what a normalized event said."""
    kind = event.get("type")
    if kind == "status_changed":
        category = f" ({event['to_category']})" if event.get("to_category") else ""
        return f"→ {event.get('to', '?')}{category}"
    if kind == "comment":
        visibility = "public" if event.get("public") else "internal"
        return f"{event.get('author_role', '?')} comment, {visibility}"
    if kind in {"priority_changed", "assignee_changed", "field_changed"}:
        return f"{event.get('field', '')} → {event.get('to', '?')}".strip()
    ticket = event.get("ticket") or {}
    shown = ", ".join(f"{k}: {ticket[k]}" for k in ("status", "priority", "tier", "assignee") if ticket.get(k))
    return shown


def script_json(value: Any) -> Markup:
    """JSON safe to place inside a ``<script type="application/json">`` element."""
    text = json.dumps(value, default=str, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
)
environment.filters.update(iso=iso, when=when, duration=duration, event_summary=event_summary, link_url=link_url)
environment.globals.update(states=STATES, state_labels=STATE_LABELS, state_icons=STATE_ICONS)


def page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render ``template`` with the headers every board page carries."""
    html = environment.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
