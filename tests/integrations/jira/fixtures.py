"""Test data for the Jira adapter, built from real Jira bodies.

Where the data comes from (nothing here is a made-up shape):

* Webhook bodies: shared/payloads/jira/*.json, read as they are (see
  SOURCES.md beside them for each file's repository and commit).
* REST issues for the fake server: the ``issue`` objects of those webhook
  bodies (webhook and REST share the v2 issue representation), deep-copied and
  given new keys/ids/times; the changelog history of a webhook becomes a REST
  history by adding the ``created`` time that REST histories carry
  (jira.js ``PageChangelogSchema``: ``{id, author, created, items}``).
* JSM comments: the comment objects of those webhook bodies, with the internal
  flag as Jira Service Management exposes it: Cloud ``jsdPublic: false``
  (demisto/content ``Packs/Jira/Integrations/JiraV2/JiraV2.py`` ``ISSUE_SCHEMA``,
  a Cloud JSM REST issue) and ``properties: [{key: "sd.public.comment",
  value: {internal: true}}]`` with ``expand=properties`` (the property
  pycontribs/jira ``JIRA.add_comment(is_internal=True)`` writes).
* A JSM portal customer: ``accountType: "customer"`` and the status
  "Waiting for customer" in category ``indeterminate``, both from that same
  demisto/content ``ISSUE_SCHEMA``.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from integrations.jira.config import JiraConnection
from tests.fakes.jira_server import jira_time

# Byte-for-byte copies of the shared payloads; SOURCES.md beside them gives each origin.
PAYLOADS = Path(__file__).with_name("payloads")
JsonDict = dict[str, Any]
T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)

REPORTER = {
    "self": "https://fake/rest/api/2/user?accountId=qm%3Acust-1",
    "accountId": "qm:cust-1",
    "displayName": "Example Customer",
    "active": True,
    "timeZone": "Europe/Berlin",
    "accountType": "customer",
}
AGENT = {
    "accountId": "5cedcb4355a88a0fc86388ba",
    "displayName": "Test User",
    "active": True,
    "accountType": "atlassian",
}
WAITING = {
    "self": "https://fake/rest/api/2/status/10005",
    "name": "Waiting for customer",
    "id": "10005",
    "statusCategory": {
        "self": "https://fake/rest/api/2/statuscategory/4",
        "id": 4,
        "key": "indeterminate",
        "colorName": "yellow",
        "name": "In Progress",
    },
}


def payload_names() -> list[str]:
    return sorted(p.name for p in PAYLOADS.glob("*.json"))


@cache
def _payload_text(name: str) -> str:
    return (PAYLOADS / name).read_text(encoding="utf-8")


def payload(name: str) -> JsonDict:
    """A fresh copy of one real webhook body."""
    data: JsonDict = json.loads(_payload_text(name))
    return data


def raw_payload(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


def make_conn(**overrides: Any) -> JiraConnection:
    """A Cloud connection with the documented example mapping; keyword overrides replace top-level keys."""
    doc: JsonDict = {
        "name": "jira",
        "type": "jira",
        "base_url": "https://example.atlassian.net",
        "auth": {"user_env": "JIRA_USER", "token_env": "JIRA_TOKEN"},
        "webhook_secret_env": "JIRA_WEBHOOK_SECRET",
        "query": "project = SUP",
        "mapping": {
            "priority": {"Highest": "P1", "High": "P2", "Medium": "P3", "Low": "P4"},
            "tier": {"field": "customfield_10050", "values": {"Platinum": "platinum"}, "default": "standard"},
            "status_category": {"Waiting for customer": "waiting", "Pending": "waiting"},
        },
        "enrich_comment_webhooks": False,
    }
    doc.update(overrides)
    if doc.get("deployment") == "datacenter" and "auth" not in overrides:
        doc["auth"] = {"pat_env": "JIRA_PAT"}
    return JiraConnection.model_validate(doc)


def loopback_connection(base_url: str, name: str = "jira") -> JsonDict:
    """A ``kind: connection`` document for a fake Jira Cloud on loopback (credentials from ``ENV``)."""
    return {
        "kind": "connection",
        "name": name,
        "type": "jira",
        "base_url": base_url,
        "query": "",
        "auth": {"user_env": "JIRA_USER", "token_env": "JIRA_TOKEN"},
        "webhook_secret_env": "JIRA_WEBHOOK_SECRET",
        "enrich_comment_webhooks": False,
        "max_retries": 1,
    }


def signed_headers(body: bytes) -> dict[str, str]:
    """The ``X-Hub-Signature`` Jira sends with ``body`` for the webhook secret in ``ENV``."""
    signature = hmac.new(ENV["JIRA_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature": f"sha256={signature}"}


ENV = {
    "JIRA_USER": "bot@example.com",
    "JIRA_TOKEN": "tok-cloud-secret",
    "JIRA_PAT": "pat-dc-secret",
    "JIRA_WEBHOOK_SECRET": "It's a Secret to Everybody",
    "JIRA_WEBHOOK_TOKEN": "url-token-123",
}


@cache
def _issue_text() -> str:
    return json.dumps(payload("issue_created-mattermost-cloud.json")["issue"])


@cache
def _comment_text() -> str:
    return json.dumps(payload("comment_created-mattermost-cloud.json")["comment"])


def base_issue() -> JsonDict:
    """The REST issue of the real Cloud ``jira:issue_created`` body (TES-41, High, To Do)."""
    issue: JsonDict = json.loads(_issue_text())
    return issue


def make_issue(
    n: int,
    *,
    updated: datetime,
    created: datetime | None = None,
    project: str = "SUP",
    status: JsonDict | None = None,
    tier: str | None = None,
) -> JsonDict:
    """Issue ``<project>-<n>`` (id ``20000+n``) in the real issue shape, with the given times."""
    issue = base_issue()
    issue["id"] = str(20000 + n)
    issue["key"] = f"{project}-{n}"
    issue["self"] = f"https://fake/rest/api/2/issue/{issue['id']}"
    fields = issue["fields"]
    fields["created"] = jira_time(created or updated)
    fields["updated"] = jira_time(updated)
    fields["reporter"] = copy.deepcopy(REPORTER)
    fields["project"] = {**fields["project"], "key": project}
    if status is not None:
        fields["status"] = copy.deepcopy(status)
    fields["customfield_10050"] = (
        {"self": "https://fake/rest/api/2/customFieldOption/10035", "value": tier, "id": "10035"} if tier else None
    )
    return issue


def status_item(history_id: str, *, frm: tuple[str, str], to: tuple[str, str]) -> JsonDict:
    """A ``status`` changelog item as Cloud sends it (ids as strings, names in *String)."""
    return {
        "field": "status",
        "fieldtype": "jira",
        "fieldId": "status",
        "from": frm[0],
        "fromString": frm[1],
        "to": to[0],
        "toString": to[1],
    }


def history(history_id: int | str, at: datetime, items: list[JsonDict], author: JsonDict | None = None) -> JsonDict:
    """A REST changelog history ``{id, author, created, items}``."""
    return {"id": str(history_id), "author": author or AGENT, "created": jira_time(at), "items": items}


def history_from_webhook(body: JsonDict) -> JsonDict:
    """The REST history for a webhook's changelog: same id and items, ``created`` = the issue's ``updated``."""
    return {
        "id": body["changelog"]["id"],
        "author": body.get("user"),
        "created": body["issue"]["fields"]["updated"],
        "items": copy.deepcopy(body["changelog"]["items"]),
    }


def comment(comment_id: int | str, at: datetime, author: JsonDict, *, internal: bool = False) -> JsonDict:
    """A comment in the fake's store (``internal`` renders as jsdPublic / sd.public.comment)."""
    template: JsonDict = json.loads(_comment_text())
    template.pop("jsdPublic", None)
    template.update(
        {
            "id": str(comment_id),
            "self": f"https://fake/rest/api/2/issue/1/comment/{comment_id}",
            "author": author,
            "updateAuthor": author,
            "created": jira_time(at),
            "updated": jira_time(at),
            "internal": internal,
        }
    )
    return template


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
