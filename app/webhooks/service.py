"""Subscriptions and deliveries: create, change, list, redeliver. Services flush; the request commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import NotFound, ValidationProblem
from app.webhooks import signing
from app.webhooks.models import DeliveryAttemptRow, DeliveryRow, SubscriptionRow
from app.webhooks.outbox import forget_subscriptions
from app.webhooks.schemas import SubscriptionIn, SubscriptionPatch
from app.webhooks.urls import IPNetwork, RefusedTarget, validate_url


def _checked_url(url: str, allowed: list[IPNetwork]) -> str:
    try:
        return validate_url(url, allowed)
    except RefusedTarget as exc:
        raise ValidationProblem.single("url", str(exc)) from None


def _checked_secret(secret: str) -> str:
    try:
        signing.secret_key(secret)
    except ValueError as exc:
        raise ValidationProblem.single("secret", str(exc)) from None
    return secret


def create(
    session: Session, body: SubscriptionIn, allowed: list[IPNetwork], now: datetime
) -> tuple[SubscriptionRow, str | None]:
    """A new subscription, and its secret when one was generated (to show once)."""
    url = _checked_url(body.url, allowed)
    generated = None if body.secret is not None else signing.generate_secret()
    row = SubscriptionRow(
        url=url,
        event_types=body.event_types,
        secret=_checked_secret(body.secret) if body.secret is not None else generated,
        filter=body.filter.model_dump(),
        description=body.description,
        enabled=body.enabled,
        disabled_reason=None,
        failing_since=None,
        consecutive_dead=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    forget_subscriptions(session)
    return row, generated


def get(session: Session, subscription_id: int) -> SubscriptionRow:
    """One subscription, or 404."""
    row = session.get(SubscriptionRow, subscription_id)
    if row is None:
        raise NotFound(f"no webhook subscription {subscription_id}")
    return row


def all_subscriptions(session: Session) -> list[SubscriptionRow]:
    """Every subscription, oldest first."""
    return list(session.scalars(select(SubscriptionRow).order_by(SubscriptionRow.id)))


def change(
    session: Session, row: SubscriptionRow, patch: SubscriptionPatch, allowed: list[IPNetwork], now: datetime
) -> SubscriptionRow:
    """Apply the fields ``patch`` sets; re-enabling clears the failure record."""
    fields = patch.model_dump(exclude_unset=True)
    if "url" in fields and patch.url is not None:
        row.url = _checked_url(patch.url, allowed)
    if patch.event_types is not None:
        row.event_types = patch.event_types
    if patch.secret is not None:
        row.secret = _checked_secret(patch.secret)
    if patch.filter is not None:
        row.filter = patch.filter.model_dump()
    if "description" in fields:
        row.description = patch.description
    if patch.enabled is True:
        row.enabled, row.disabled_reason, row.failing_since, row.consecutive_dead = True, None, None, 0
    elif patch.enabled is False:
        row.enabled = False
        row.disabled_reason = patch.disabled_reason or "disabled by an administrator"
    row.updated_at = now
    session.flush()
    forget_subscriptions(session)
    return row


def delete(session: Session, row: SubscriptionRow) -> None:
    """Remove a subscription; its deliveries and their attempts go with it (``ON DELETE CASCADE``)."""
    session.delete(row)
    session.flush()
    forget_subscriptions(session)


@dataclass(frozen=True)
class DeliveryFilter:
    status: str | None = None
    subscription_id: int | None = None
    event_type: str | None = None
    event_id: int | None = None


def list_deliveries(
    session: Session, f: DeliveryFilter, *, limit: int, cursor: str | None
) -> tuple[list[DeliveryRow], str | None]:
    """One page of deliveries, newest first; pass the returned cursor back for the next page."""
    query = select(DeliveryRow)
    if f.status:
        query = query.where(DeliveryRow.status == f.status)
    if f.subscription_id is not None:
        query = query.where(DeliveryRow.subscription_id == f.subscription_id)
    if f.event_type:
        query = query.where(DeliveryRow.event_type == f.event_type)
    if f.event_id is not None:
        query = query.where(DeliveryRow.event_id == f.event_id)
    if cursor:
        if not cursor.isdigit():
            raise ValidationProblem.single("cursor", "is not a cursor this API returned")
        query = query.where(DeliveryRow.id < int(cursor))
    rows = list(session.scalars(query.order_by(DeliveryRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (str(rows[-1].id) if more and rows else None)


def get_delivery(session: Session, delivery_id: int) -> DeliveryRow:
    """One delivery, or 404."""
    row = session.get(DeliveryRow, delivery_id)
    if row is None:
        raise NotFound(f"no delivery {delivery_id}")
    return row


def attempts_of(session: Session, delivery_id: int) -> list[DeliveryAttemptRow]:
    """The delivery's attempts, oldest first."""
    query = select(DeliveryAttemptRow).where(DeliveryAttemptRow.delivery_id == delivery_id)
    return list(session.scalars(query.order_by(DeliveryAttemptRow.id)))


def redeliver(session: Session, row: DeliveryRow, now: datetime) -> DeliveryRow:
    """Send a delivered or dead-lettered event again at once (one more attempt when it had used them all)."""
    row.status, row.next_attempt_at, row.updated_at = "pending", now, now
    session.flush()
    return row
