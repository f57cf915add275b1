"""Inbound webhook endpoints ``/webhooks/{type}/{connection}``: verify, parse, store first.

A delivery is checked (signature or token) and translated into normalized events before the
answer (on the event loop unless that needs I/O), so a bad one gets its 4xx and leaves nothing.
Its events and a receipt are then stored through the ingestion writer, and the clocks lane
projects the tickets right after: the source gets its answer as soon as the events are safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from app.connections import service
from app.core.db import Database
from app.core.errors import AppError, NotFound
from app.ingestion.writer import app_writer
from app.tickets.events import NormalizedEvent
from integrations.base import PermanentError, RetryableError, SourceNeeded, TicketAdapter, WebhookRejected

webhooks_router = APIRouter(prefix="/webhooks", tags=["inbound webhooks"])


class WebhookOut(BaseModel):
    accepted: int
    duplicates: int


class WebhookUnauthenticated(AppError):
    status = 401
    slug = "webhook-unauthenticated"
    title = "Webhook signature or token rejected"


class WebhookUnreadable(AppError):
    status = 400
    slug = "webhook-unreadable"
    title = "Webhook body unreadable"


class WebhookUnusable(AppError):
    status = 422
    slug = "webhook-unusable"
    title = "Webhook cannot be used"


class SourceUnavailable(AppError):
    status = 503
    slug = "source-unavailable"
    title = "Source unavailable"


class WebhookNotConfigured(AppError):
    status = 503
    slug = "webhook-not-configured"
    title = "Webhook secret or token not configured"


# What an adapter's WebhookRejected status means to the sender.
_REJECTIONS: dict[int, type[AppError]] = {
    401: WebhookUnauthenticated,
    400: WebhookUnreadable,
    422: WebhookUnusable,
    503: WebhookNotConfigured,
}


@contextmanager
def _as_problems() -> Iterator[None]:
    """An adapter's refusal as the problem the sender should get."""
    try:
        yield
    except WebhookRejected as exc:
        raise _REJECTIONS.get(exc.status, WebhookUnusable)(str(exc)) from None
    except RetryableError as exc:
        # The source retries on 5xx (Jira: 408/409/425/429/5xx), which is what we want here.
        raise SourceUnavailable(f"could not complete the event from the source: {exc}") from None
    except PermanentError as exc:
        raise WebhookUnusable(str(exc)) from None


def _parse(adapter: TicketAdapter, headers: dict[str, str], body: bytes, offline: bool) -> list[NormalizedEvent]:
    with _as_problems():
        return adapter.parse_webhook(headers, body, offline=offline)


async def _events(
    db: Database, kind: str, connection: str, headers: dict[str, str], query: dict[str, str], body: bytes
) -> list[NormalizedEvent]:
    """Check and parse one delivery. On the event loop while that needs no I/O (the usual case: the
    adapter is cached and the body says everything); in the thread pool to read the connection or
    when the adapter has to call the source back."""
    found = service.cached_webhook_adapter(db, connection) or await run_in_threadpool(
        service.webhook_adapter, db, connection
    )
    if found is None or found[0] != kind:
        raise NotFound(f"no {kind} connection named {connection!r}")
    adapter = found[1]
    with _as_problems():
        adapter.verify_webhook(headers, body, query)
    try:
        return _parse(adapter, headers, body, True)
    except SourceNeeded:
        return await run_in_threadpool(_parse, adapter, headers, body, False)


async def _receive(kind: str, connection: str, request: Request) -> WebhookOut:
    """Verify and parse a delivery, then store its events and receipt; the clocks lane projects the tickets."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    db: Database = request.app.state.db
    events = await _events(db, kind, connection, headers, dict(request.query_params), body)
    delivery = headers.get("x-atlassian-webhook-identifier") or hashlib.sha256(body).hexdigest()
    result = await app_writer(request).submit(events, deferred=True, receipt=(connection, delivery))
    return WebhookOut(accepted=len(result.new), duplicates=len(result.duplicate))


@webhooks_router.post("/jira/{connection}")
async def jira_webhook(connection: str, request: Request) -> WebhookOut:
    """Jira webhook receiver: `X-Hub-Signature` HMAC (Cloud, Data Center with secret) or `?token=` (Data Center).

    Events are stored before the answer and the tickets' clocks updated by the clocks lane right after;
    a repeated delivery changes nothing.
    """
    return await _receive("jira", connection, request)


@webhooks_router.post("/servicenow/{connection}")
async def servicenow_webhook(connection: str, request: Request) -> WebhookOut:
    """ServiceNow push receiver (Business Rule / Flow REST step): HMAC signature header or bearer token.

    Idempotent by `sys_id` + `sys_mod_count`: a repeated push changes nothing. Events are stored before
    the answer and the tickets' clocks updated by the clocks lane right after.
    """
    return await _receive("servicenow", connection, request)
