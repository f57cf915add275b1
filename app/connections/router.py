"""``/api/v1/connections`` (admin) and the inbound webhook endpoints ``/webhooks/{type}/{connection}``."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.apply.service import apply_documents
from app.auth.deps import AdminKey
from app.connections import service
from app.connections.models import ConnectionRow, WebhookReceiptRow
from app.connections.registry import adapter_for
from app.core.db import Database, insert_ignoring_conflicts
from app.core.deps import NowDep, SessionDep
from app.core.errors import AppError, NotFound
from app.tickets.events import NormalizedEvent
from app.tickets.service import IngestResult
from app.tickets.writer import IngestWriter, WriterDep
from integrations.base import PermanentError, RetryableError, WebhookRejected

router = APIRouter(prefix="/connections", tags=["connections"])
webhooks_router = APIRouter(prefix="/webhooks", tags=["inbound webhooks"])


class ConnectionOut(BaseModel):
    name: str
    type: str
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    sync: dict[str, Any]

    @classmethod
    def of(cls, row: ConnectionRow) -> ConnectionOut:
        return cls(
            name=row.name,
            type=row.type,
            spec=row.spec,
            created_at=row.created_at,
            updated_at=row.updated_at,
            sync=service.status(row),
        )


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


@router.get("")
def list_connections(session: SessionDep, _: AdminKey) -> list[ConnectionOut]:
    """Every connection and its sync state (secrets are never stored: only the names of their variables)."""
    return [ConnectionOut.of(row) for row in service.list_all(session)]


@router.post("", status_code=status.HTTP_201_CREATED)
def put_connection(doc: dict[str, Any], session: SessionDep, now: NowDep, who: AdminKey) -> ConnectionOut:
    """Create or replace a connection from a `kind: connection` document (DESIGN §4)."""
    (change,) = apply_documents(session, [{**doc, "kind": "connection"}], actor=who.actor, now=now, dry_run=False)
    return ConnectionOut.of(service.get(session, change.name))


@router.get("/{name}")
def get_connection(name: str, session: SessionDep, _: AdminKey) -> ConnectionOut:
    """One connection and its sync state."""
    return ConnectionOut.of(service.get(session, name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_connection(name: str, session: SessionDep, _: AdminKey) -> None:
    """Delete a connection (its tickets and events stay)."""
    service.delete(session, name)


@router.post("/{name}/sync", status_code=status.HTTP_202_ACCEPTED)
def request_sync(name: str, session: SessionDep, now: NowDep, _: AdminKey) -> ConnectionOut:
    """Ask the worker to sync this connection now (incremental from its cursor)."""
    row = service.get(session, name)
    row.sync_requested_at = now
    return ConnectionOut.of(row)


def _parse_delivery(
    db: Database, kind: str, connection: str, headers: dict[str, str], query: dict[str, str], body: bytes
) -> tuple[list[NormalizedEvent], str]:
    """Check and parse one delivery (off the event loop: an adapter may call the source back)."""
    with db.transaction(write=False) as session:
        row = service.find(session, connection)
        if row is None or row.type != kind:
            raise NotFound(f"no {kind} connection named {connection!r}")
        spec = service.spec_of(row)
    adapter = adapter_for(spec)
    try:
        adapter.verify_webhook(headers, body, query)
        events = adapter.parse_webhook(headers, body)
    except WebhookRejected as exc:
        raise _REJECTIONS.get(exc.status, WebhookUnusable)(str(exc)) from None
    except RetryableError as exc:
        # The source retries on 5xx (Jira: 408/409/425/429/5xx), which is what we want here.
        raise SourceUnavailable(f"could not complete the event from the source: {exc}") from None
    except PermanentError as exc:
        raise WebhookUnusable(str(exc)) from None
    delivery = headers.get("x-atlassian-webhook-identifier") or hashlib.sha256(body).hexdigest()
    return events, delivery


async def _receive(kind: str, connection: str, request: Request, writer: IngestWriter) -> WebhookOut:
    """Verify and parse a delivery, then store its events and a receipt through the group-commit writer."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    db: Database = request.app.state.db
    events, delivery = await run_in_threadpool(
        _parse_delivery, db, kind, connection, headers, dict(request.query_params), body
    )

    def receipt(session: Session, result: IngestResult, now: datetime) -> WebhookOut:
        # A receipt per delivery (the first one wins): what arrived, when, and what it changed.
        row = {
            "connection": connection,
            "delivery_id": delivery[:200],
            "received_at": now,
            "events_new": len(result.new),
            "events_duplicate": len(result.duplicate),
        }
        session.execute(insert_ignoring_conflicts(session, WebhookReceiptRow), [row])
        return WebhookOut(accepted=len(result.new), duplicates=len(result.duplicate))

    answer: WebhookOut = await writer.submit(events, receipt)
    return answer


@webhooks_router.post("/jira/{connection}")
async def jira_webhook(connection: str, request: Request, writer: WriterDep) -> WebhookOut:
    """Jira webhook receiver: `X-Hub-Signature` HMAC (Cloud, Data Center with secret) or `?token=` (Data Center).

    Events are stored and the tickets' clocks updated before the answer; a repeated delivery changes nothing.
    """
    return await _receive("jira", connection, request, writer)


@webhooks_router.post("/servicenow/{connection}")
async def servicenow_webhook(connection: str, request: Request, writer: WriterDep) -> WebhookOut:
    """ServiceNow push receiver (Business Rule / Flow REST step): HMAC signature header or bearer token.

    Idempotent by `sys_id` + `sys_mod_count`: a repeated push changes nothing.
    """
    return await _receive("servicenow", connection, request, writer)
