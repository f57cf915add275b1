"""Push: authentication, the payload schema, idempotency and ids shared with the audit path."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from app.tickets.events import AuthorRole, EventType, StatusCategory
from integrations.base import WebhookRejected
from integrations.servicenow.adapter import ServiceNowAdapter
from integrations.servicenow.push import parse, verify
from integrations.servicenow.translate import history_events
from tests.integrations.servicenow.conftest import INC60_ID, inc60_history, make_conn

from .test_translate import inc60

pytestmark = pytest.mark.usefixtures("env")


def push_body(
    operation: str,
    mod_count: int,
    record: dict[str, str],
    changed: list[str] | None = None,
    previous: dict[str, str] | None = None,
    journal: list[dict[str, str]] | None = None,
) -> bytes:
    """The body the documented Business Rule builds: record limited to the connection's fields."""
    conn = make_conn()
    fields = {name: record.get(name, "") for name in conn.record_fields() if name in record}
    return json.dumps(
        {
            "schema": "sla-tracker.servicenow.push/1",
            "operation": operation,
            "table": "incident",
            "sys_id": record["sys_id"],
            "sys_mod_count": str(mod_count),
            "at": record["sys_updated_on"],
            "changed": changed or [],
            "previous": previous or {},
            "record": fields,
            "journal": journal or [],
        }
    ).encode()


def signed(body: bytes, secret: bytes = b"push-secret", *, as_hex: bool = False) -> dict[str, str]:
    mac = hmac.new(secret, body, hashlib.sha256).digest()
    return {"X-SN-Signature": "sha256=" + (mac.hex() if as_hex else base64.b64encode(mac).decode())}


def on_hold_push() -> bytes:
    """INC0000060 at modification 5 of its history: In Progress -> On Hold (Awaiting Caller)."""
    record = {
        **inc60(),
        "state": "3",
        "hold_reason": "1",
        "priority": "4",
        "sys_mod_count": "5",
        "sys_updated_on": "2016-12-12 16:00:00",
    }
    return push_body("update", 5, record, ["state", "hold_reason"], {"state": "2", "hold_reason": ""})


@pytest.mark.parametrize(
    "headers",
    [
        signed(b"BODY"),
        signed(b"BODY", as_hex=True),
        {"authorization": "Bearer push-token"},
        {"x-sn-signature": signed(b"BODY")["X-SN-Signature"]},
    ],
)
def test_verify_accepts_a_good_signature_or_token(headers: dict[str, str]) -> None:
    verify(make_conn(), headers, b"BODY")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (signed(b"OTHER"), "bad X-SN-Signature"),
        (signed(b"BODY", b"wrong-secret"), "bad X-SN-Signature"),
        ({"X-SN-Signature": "sha1=abcd"}, "bad X-SN-Signature"),
        ({"X-SN-Signature": "sha256=not base64!"}, "bad X-SN-Signature"),
        ({"Authorization": "Bearer nope"}, "bad bearer token"),
        ({}, "missing"),
        ({"Authorization": "Basic cHVzaDpwdXNo"}, "missing"),
    ],
)
def test_verify_rejects_bad_or_missing_credentials(headers: dict[str, str], message: str) -> None:
    with pytest.raises(WebhookRejected, match=message) as caught:
        verify(make_conn(), headers, b"BODY")
    assert caught.value.status == 401


def test_verify_fails_closed_without_configuration() -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify(make_conn(webhook_secret_env=None, webhook_token_env=None), {}, b"BODY")
    assert caught.value.status == 503


def test_verify_never_echoes_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WebhookRejected) as caught:
        verify(make_conn(webhook_secret_env=None), {"Authorization": "Bearer nope"}, b"BODY")
    assert "push-token" not in str(caught.value)


def test_update_push_gives_the_same_events_as_the_audit_path() -> None:
    pushed = parse(make_conn(), on_hold_push())
    from_audit = history_events(make_conn(), inc60(), inc60_history())
    assert [e.id for e in pushed] == [f"chg-{INC60_ID}-5-status"]
    assert pushed[0] in from_audit
    assert (pushed[0].to_category, pushed[0].from_) == (StatusCategory.waiting, "In Progress")


def test_insert_push_matches_the_reconstructed_created_event() -> None:
    initial = {**inc60(), "state": "1", "hold_reason": "", "priority": "4", "assigned_to": "", "sys_mod_count": "0"}
    [created] = parse(make_conn(), push_body("insert", 0, initial))
    assert created == history_events(make_conn(), inc60(), inc60_history())[0]


def test_push_is_idempotent_by_sys_id_and_mod_count() -> None:
    first, again = parse(make_conn(), on_hold_push()), parse(make_conn(), on_hold_push())
    assert [e.dedupe_key() for e in first] == [e.dedupe_key() for e in again]


def test_push_carries_journal_entries_and_tier_changes() -> None:
    record = {**inc60(), "sys_updated_on": "2016-12-13 10:00:00", "caller_id.user_name": "abel.tuter"}
    journal = [
        {
            "sys_id": "4db0e8cb1bcccc106a4a85507e4bcba2",
            "element": "comments",
            "sys_created_on": "2016-12-13 10:00:00",
            "sys_created_by": "abel.tuter",
        }
    ]
    body = push_body("update", 9, record, ["company", "priority"], {"company": "", "priority": "3"}, journal)
    events = parse(make_conn(), body)
    assert [(e.id, e.type, e.field, e.value) for e in events] == [
        (f"chg-{INC60_ID}-9-company", EventType.field_changed, "company", "31bea3d53790200044e0bfc8bcbe5dec"),
        (f"chg-{INC60_ID}-9-tier", EventType.field_changed, "tier", "platinum"),
        ("journal-4db0e8cb1bcccc106a4a85507e4bcba2", EventType.comment, None, None),
    ]  # priority did not really change (3 -> 3): no event
    assert (events[-1].author_role, events[-1].public) == (AuthorRole.customer, True)


def test_delete_push() -> None:
    [event] = parse(make_conn(), push_body("delete", 16, inc60()))
    assert (event.id, event.type, event.key) == (f"deleted-{INC60_ID}", EventType.deleted, "INC0000060")


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        {"schema": "other/1"},
        json.loads(on_hold_push()) | {"table": "problem"},
        json.loads(on_hold_push()) | {"sys_id": "short"},
        {**json.loads(on_hold_push()), "record": {"number": "INC0000060", "sys_updated_on": "12/12/2016"}},
    ],
)
def test_malformed_pushes_are_rejected_with_400(payload: Any) -> None:
    with pytest.raises(WebhookRejected) as caught:
        parse(make_conn(), payload)
    assert caught.value.status == 400


def test_adapter_exposes_push_through_the_protocol() -> None:
    adapter = ServiceNowAdapter(make_conn())
    body = on_hold_push()
    adapter.verify_webhook(signed(body), body, {})
    assert [e.id for e in adapter.parse_webhook({}, body)] == [f"chg-{INC60_ID}-5-status"]


def test_unknown_changes_restate_every_tracked_field() -> None:
    record = {**inc60(), "sys_updated_on": "2016-12-14 02:46:44"}
    events = parse(make_conn(), push_body("update", 15, record, ["*"]))
    assert {e.id.rsplit("-", 1)[1]: e.type for e in events} == {
        "status": EventType.status_changed,
        "priority": EventType.priority_changed,
        "assignee": EventType.assignee_changed,
        "assignment_group": EventType.field_changed,
        "company": EventType.field_changed,
        "tier": EventType.field_changed,
    }
    status = next(e for e in events if e.type is EventType.status_changed)
    audited = {e.id: e for e in history_events(make_conn(), inc60(), inc60_history())}[status.id]
    assert (status.to, status.to_category, status.at) == (audited.to, audited.to_category, audited.at)
    assert status.from_ is None  # the sender did not know it
