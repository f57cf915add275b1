"""Inbound pushes from a ServiceNow Business Rule: authentication and translation.

The body (schema ``sla-tracker.servicenow.push/1``, built by the script in
docs/integrations/servicenow.md)::

    {"schema": "sla-tracker.servicenow.push/1",
     "operation": "insert" | "update" | "delete",
     "table": "incident", "sys_id": "<32 hex>", "sys_mod_count": "4",
     "at": "YYYY-MM-DD HH:MM:SS",            # UTC, when the rule ran (used for delete)
     "changed": ["state", "hold_reason"],     # tracked fields changed by this update, or ["*"]:
                                              # unknown, restate every tracked field (no-op if unchanged)
     "previous": {"state": "2", "hold_reason": ""},   # their values before it
     "record": {"number": "...", "state": "3", "caller_id.user_name": "...", ...},
     "journal": [{"sys_id", "element", "sys_created_on", "sys_created_by"}]}

``record`` holds the same value-form fields the sync reads (``config.record_fields``),
so both paths share one translation and produce the same event ids.

Authentication: ``X-SN-Signature: sha256=<mac>`` (HMAC-SHA256 of the raw body with the
secret in ``webhook_secret_env``; ``<mac>`` in base64, as ServiceNow's
``GlideCertificateEncryption.generateMac`` returns it, or hex), or
``Authorization: Bearer <token in webhook_token_env>``. Both compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.tickets.events import EventType, NormalizedEvent
from integrations.base import PermanentError, WebhookRejected
from integrations.servicenow.config import ServiceNowConnection, resolve_env
from integrations.servicenow.translate import (
    Modification,
    created_event,
    journal_event,
    modification_events,
    parse_sn_time,
    push_id_maker,
)

SCHEMA = "sla-tracker.servicenow.push/1"
SIGNATURE_HEADER = "x-sn-signature"


class PushJournalEntry(BaseModel):
    """A journal entry written by the pushed update (a ``sys_journal_field`` row)."""

    model_config = ConfigDict(extra="ignore")

    sys_id: str = Field(min_length=1)
    element: Literal["comments", "work_notes"]
    sys_created_on: str
    sys_created_by: str = ""


class PushPayload(BaseModel):
    """The body the Business Rule sends."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_: Literal["sla-tracker.servicenow.push/1"] = Field(alias="schema")
    operation: Literal["insert", "update", "delete"]
    table: str
    sys_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    sys_mod_count: int = Field(ge=0)
    at: str | None = None
    changed: list[str] = Field(default_factory=list)
    previous: dict[str, str] = Field(default_factory=dict)
    record: dict[str, str]
    journal: list[PushJournalEntry] = Field(default_factory=list)


def _secret(name: str) -> bytes:
    try:
        return resolve_env(name).encode()
    except PermanentError as exc:  # misconfiguration on our side; the sender learns nothing
        raise WebhookRejected("push authentication is not configured", status=503) from exc


def _mac_bytes(text: str) -> bytes | None:
    try:
        return bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None


def verify(conn: ServiceNowConnection, headers: Mapping[str, str], body: bytes) -> None:
    """Raise ``WebhookRejected`` unless the push carries a valid signature or bearer token."""
    lowered = {key.lower(): value for key, value in headers.items()}
    signature = lowered.get(SIGNATURE_HEADER)
    authorization = lowered.get("authorization", "")
    if conn.webhook_secret_env and signature is not None:
        scheme, _, mac = signature.partition("=")
        given = _mac_bytes(mac.strip()) if scheme.strip().lower() == "sha256" else None
        expected = hmac.new(_secret(conn.webhook_secret_env), body, hashlib.sha256).digest()
        if given is None or not hmac.compare_digest(given, expected):
            raise WebhookRejected("bad X-SN-Signature")
        return
    if conn.webhook_token_env and authorization[:7].lower() == "bearer ":
        if not hmac.compare_digest(authorization[7:].strip().encode(), _secret(conn.webhook_token_env)):
            raise WebhookRejected("bad bearer token")
        return
    if not (conn.webhook_secret_env or conn.webhook_token_env):
        raise WebhookRejected("push authentication is not configured", status=503)
    raise WebhookRejected("missing X-SN-Signature or Authorization: Bearer")


def read_payload(conn: ServiceNowConnection, payload: Any) -> PushPayload:
    """Validate a push body (bytes, str or parsed JSON); ``WebhookRejected`` (400) if malformed."""
    try:
        data = json.loads(payload) if isinstance(payload, bytes | str) else payload
        parsed = PushPayload.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise WebhookRejected(f"not a {SCHEMA} body: {str(exc).splitlines()[0]}", status=400) from exc
    if parsed.table != conn.table:
        raise WebhookRejected(f"push for table {parsed.table}, connection reads {conn.table}", status=400)
    if parsed.operation != "delete" and not parsed.record.get("number"):
        raise WebhookRejected("record.number is missing", status=400)
    return parsed


def parse(conn: ServiceNowConnection, payload: Any) -> list[NormalizedEvent]:
    """Translate one push into normalized events (ids shared with the sync path)."""
    push = read_payload(conn, payload)
    record = {**push.record, "sys_id": push.sys_id}
    if push.operation == "delete":
        at = parse_sn_time(push.at) or parse_sn_time(record.get("sys_updated_on"))
        if at is None or not record.get("number"):
            raise WebhookRejected("a delete push needs at and record.number", status=400)
        return [
            NormalizedEvent(
                source=conn.name, key=record["number"], id=f"deleted-{push.sys_id}", type=EventType.deleted, at=at
            )
        ]
    try:
        if push.operation == "insert":
            events = [created_event(conn, record)]
        else:
            tracked = set(conn.tracked_fields())
            after = {name: record.get(name, "") for name in tracked}
            if push.changed == ["*"]:  # sender cannot tell what changed (Flow Designer): restate all
                changed, before = tracked, {**dict.fromkeys(tracked, ""), **push.previous}
            else:
                changed = set(push.changed) & tracked
                before = {**after, **{k: v for k, v in push.previous.items() if k in changed}}
            at = parse_sn_time(record.get("sys_updated_on")) or parse_sn_time(push.at)
            if at is None:
                raise WebhookRejected("record.sys_updated_on is missing", status=400)
            events = modification_events(
                conn,
                record,
                Modification(
                    at=at,
                    changed=changed,
                    before=before,
                    after=after,
                    event_id=push_id_maker(push.sys_id, push.sys_mod_count),
                    latest=changed,
                ),
            )
        events += [journal_event(conn, record, entry.model_dump()) for entry in push.journal]
    except ValueError as exc:  # a timestamp not in value form
        raise WebhookRejected(f"unreadable push: {exc}", status=400) from exc
    return events
