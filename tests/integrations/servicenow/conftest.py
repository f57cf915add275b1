"""Fixtures for the ServiceNow adapter tests.

``payloads/`` holds unmodified copies of files from shared/payloads/servicenow
(provenance of each in that folder's SOURCES.md). No public ``sys_audit`` capture
exists, so audit rows here are built with exactly the key set of
``sys_audit_record_limacharlie_doc_example.json`` and values chosen per test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.servicenow.config import ServiceNowConnection
from tests.fakes.loopback import serve_asgi
from tests.fakes.servicenow_server import FakeServiceNow

PAYLOADS = Path(__file__).parent / "payloads"
AUDIT_KEYS = list(json.loads((PAYLOADS / "sys_audit_record_limacharlie_doc_example.json").read_text()))


def load(name: str) -> Any:
    """A payload file, parsed."""
    return json.loads((PAYLOADS / name).read_text())


def record_of(name: str, index: int = 0) -> dict[str, str]:
    """One incident from a payload file, in value form (references as bare sys_ids)."""
    data = load(name)["result"]
    row = data[index] if isinstance(data, list) else data
    return {k: (v["value"] if isinstance(v, dict) else v) for k, v in row.items()}


def make_conn(**overrides: Any) -> ServiceNowConnection:
    """A connection document with test env-var names; ``overrides`` patch it."""
    doc: dict[str, Any] = {
        "name": "servicenow",
        "type": "servicenow",
        "base_url": "https://example.service-now.com",
        "auth": {"user_env": "SN_TEST_USER", "password_env": "SN_TEST_PASSWORD"},
        "webhook_secret_env": "SN_TEST_PUSH_SECRET",
        "webhook_token_env": "SN_TEST_PUSH_TOKEN",
        "mapping": {
            "tier": {"field": "company.name", "values": {"ACME North America": "platinum"}, "default": "standard"}
        },
        "page_size": 3,
        "history_page_size": 4,
        "backoff_seconds": 0.01,
    }
    doc.update(overrides)
    return ServiceNowConnection.model_validate(doc)


def audit_row(
    sys_id: str,
    documentkey: str,
    fieldname: str,
    oldvalue: str,
    newvalue: str,
    checkpoint: str,
    created_on: str,
    user: str = "beth.anglin",
) -> dict[str, str]:
    """A sys_audit row in the documented shape (value form, exclude_reference_link=true)."""
    row = {
        "sys_id": sys_id,
        "tablename": "incident",
        "fieldname": fieldname,
        "documentkey": documentkey,
        "user": user,
        "oldvalue": oldvalue,
        "newvalue": newvalue,
        "reason": "",
        "record_checkpoint": checkpoint,
        "internal_checkpoint": "",
        "sys_created_on": created_on,
        "sys_created_by": user,
    }
    assert list(row) == AUDIT_KEYS
    return row


INC60 = "incident_list_value_pdi_INC0000060_closed.json"
INC60_ID = "1c741bd70b2322007518478d83673af3"


def inc60_history() -> list[dict[str, str]]:
    """A plausible audit trail of INC0000060 (closed, sys_mod_count 15): New -> In Progress ->
    On Hold (Awaiting Caller) -> In Progress -> Resolved -> Closed, ending at the record's values."""
    return [
        audit_row("a0000000000000000000000000000001", INC60_ID, "state", "1", "2", "2", "2016-12-12 15:25:00"),
        audit_row(
            "a0000000000000000000000000000002",
            INC60_ID,
            "assigned_to",
            "",
            "5137153cc611227c000bbd1bd8cd2007",
            "2",
            "2016-12-12 15:25:00",
        ),
        audit_row("a0000000000000000000000000000003", INC60_ID, "state", "2", "3", "5", "2016-12-12 16:00:00"),
        audit_row("a0000000000000000000000000000004", INC60_ID, "hold_reason", "", "1", "5", "2016-12-12 16:00:00"),
        audit_row("a0000000000000000000000000000005", INC60_ID, "state", "3", "2", "7", "2016-12-13 08:30:00"),
        audit_row("a0000000000000000000000000000006", INC60_ID, "hold_reason", "1", "", "7", "2016-12-13 08:30:00"),
        audit_row("a0000000000000000000000000000007", INC60_ID, "priority", "4", "3", "8", "2016-12-13 09:00:00"),
        audit_row("a0000000000000000000000000000008", INC60_ID, "state", "2", "6", "12", "2016-12-13 23:56:33"),
        audit_row(
            "a0000000000000000000000000000009", INC60_ID, "state", "6", "7", "15", "2016-12-14 02:46:44", user="system"
        ),
    ]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and push secrets in the environment, by the names ``make_conn`` uses."""
    monkeypatch.setenv("SN_TEST_USER", "integration")
    monkeypatch.setenv("SN_TEST_PASSWORD", "s3cret")
    monkeypatch.setenv("SN_TEST_PUSH_SECRET", "push-secret")
    monkeypatch.setenv("SN_TEST_PUSH_TOKEN", "push-token")


@pytest.fixture
def fake() -> FakeServiceNow:
    """An empty fake instance."""
    return FakeServiceNow()


@pytest.fixture
def served(fake: FakeServiceNow, env: None) -> Iterator[tuple[FakeServiceNow, ServiceNowConnection]]:
    """The fake on loopback and a connection pointing at it."""
    with serve_asgi(fake.app) as base_url:
        yield fake, make_conn(base_url=base_url)
