"""``/api/v1/webhooks`` (subscriptions, admin) and ``/api/v1/deliveries`` (read; redeliver is admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.deps import AdminKey, ReadKey
from app.core.deps import NowDep, SessionDep, SettingsDep
from app.core.errors import ValidationProblem
from app.core.ids import RowId
from app.webhooks import service
from app.webhooks.models import DeliveryRow, OutboxEventRow, SubscriptionRow
from app.webhooks.outbox import event_document
from app.webhooks.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPage,
    SubscriptionPatch,
)
from app.webhooks.urls import IPNetwork, parse_networks

router = APIRouter(prefix="/webhooks", tags=["outbound webhooks"])
deliveries_router = APIRouter(prefix="/deliveries", tags=["outbound webhooks"])


def _allowed(settings: SettingsDep) -> list[IPNetwork]:
    try:
        return parse_networks(settings.webhook_allowed_networks)
    except ValueError as exc:
        raise ValidationProblem.single("SLA_WEBHOOK_ALLOWED_NETWORKS", str(exc)) from None


def _out(row: SubscriptionRow) -> SubscriptionOut:
    return SubscriptionOut(
        id=row.id,
        url=row.url,
        event_types=row.event_types,
        filter=row.filter,
        description=row.description,
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_subscription(
    body: SubscriptionIn, session: SessionDep, now: NowDep, settings: SettingsDep, _: AdminKey
) -> SubscriptionCreated:
    """Subscribe a receiver URL to event types. Without `secret`, one is generated and returned this once."""
    row, generated = service.create(session, body, _allowed(settings), now)
    return SubscriptionCreated(**_out(row).model_dump(), secret=generated)


@router.get("")
def list_subscriptions(session: SessionDep, _: AdminKey) -> SubscriptionPage:
    """Every subscription (secrets are never shown)."""
    return SubscriptionPage(items=[_out(r) for r in service.all_subscriptions(session)])


@router.get("/{subscription_id}")
def get_subscription(subscription_id: RowId, session: SessionDep, _: AdminKey) -> SubscriptionOut:
    """One subscription, with `disabled_reason` when it was switched off."""
    return _out(service.get(session, subscription_id))


@router.patch("/{subscription_id}")
def update_subscription(
    subscription_id: RowId,
    patch: SubscriptionPatch,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    _: AdminKey,
) -> SubscriptionOut:
    """Change fields; `{"enabled": true}` re-enables a disabled subscription; `secret` rotates the key."""
    row = service.get(session, subscription_id)
    return _out(service.change(session, row, patch, _allowed(settings), now))


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscription(subscription_id: RowId, session: SessionDep, _: AdminKey) -> Response:
    """Remove a subscription and its delivery history."""
    service.delete(session, service.get(session, subscription_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _delivery(row: DeliveryRow) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        event_id=str(row.event_id),
        event_type=row.event_type,
        subscription_id=row.subscription_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
    )


@deliveries_router.get("")
def list_deliveries(
    session: SessionDep,
    _: ReadKey,
    status_: Annotated[str | None, Query(alias="status", pattern="^(pending|delivered|dead)$")] = None,
    subscription_id: RowId | None = None,
    event_type: str | None = None,
    event_id: RowId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> DeliveryPage:
    """Deliveries, newest first, filtered by status, subscription, event type or event id."""
    f = service.DeliveryFilter(status_, subscription_id, event_type, event_id)
    rows, next_cursor = service.list_deliveries(session, f, limit=limit, cursor=cursor)
    return DeliveryPage(items=[_delivery(r) for r in rows], next_cursor=next_cursor)


@deliveries_router.get("/{delivery_id}")
def get_delivery(delivery_id: RowId, session: SessionDep, _: ReadKey) -> DeliveryDetail:
    """One delivery with the event body it sends and every attempt (status, latency, response excerpt)."""
    row = service.get_delivery(session, delivery_id)
    event = session.get_one(OutboxEventRow, row.event_id)
    attempts = [
        AttemptOut(
            attempted_at=a.attempted_at,
            status_code=a.status_code,
            latency_ms=a.latency_ms,
            response_excerpt=a.response_excerpt,
            error=a.error,
        )
        for a in service.attempts_of(session, delivery_id)
    ]
    return DeliveryDetail(**_delivery(row).model_dump(), event=event_document(event), attempt_log=attempts)


@deliveries_router.post("/{delivery_id}/redeliver", status_code=status.HTTP_202_ACCEPTED)
def redeliver(delivery_id: RowId, session: SessionDep, now: NowDep, _: AdminKey) -> DeliveryOut:
    """Queue the delivery again now (same `webhook-id`, so receivers that already have it can dedupe)."""
    return _delivery(service.redeliver(session, service.get_delivery(session, delivery_id), now))
