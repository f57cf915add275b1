"""The adapter over the pieces, the connection document, secrets and the retry helpers."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
import yaml
from pydantic import ValidationError

from app.tickets.events import AuthorRole
from integrations.base import (
    PermanentError,
    SourceNeeded,
    TicketAdapter,
    WebhookRejected,
    WriteBackAction,
    WriteBackKind,
)
from integrations.jira import JiraAdapter, JiraClient, JiraConnection
from integrations.jira.client import build_jira, jira_error_text, retry_after_seconds
from integrations.jira.translate import snapshot
from tests.fakes.jira_server import FakeJira
from tests.integrations.jira.conftest import ClientFactory
from tests.integrations.jira.fixtures import ENV, REPORTER, T0, base_issue, make_conn, make_issue, payload, raw_payload

DOC = """
kind: connection
name: jira-emea
type: jira
deployment: datacenter
base_url: https://jira.example.com
auth: {pat_env: JIRA_PAT}
webhook_token_env: JIRA_WEBHOOK_TOKEN
query: project = SUP AND issuetype in (Incident, "Service Request")
mapping:
  priority: {Highest: P1, High: P2, Medium: P3, Low: P4}
  tier: {field: organization, values: {ACME: platinum}, default: standard}
  status_category: {"Waiting for customer": waiting}
  agent_groups: [jira-servicedesk-users]
  fields: [customfield_10060]
sync_overlap_seconds: 300
page_size: 100
"""


def test_a_yaml_connection_document_loads() -> None:
    conn = JiraConnection.model_validate(yaml.safe_load(DOC))
    assert (conn.name, conn.deployment, conn.is_cloud, conn.page_size) == ("jira-emea", "datacenter", False, 100)
    assert conn.mapping.tier is not None
    assert conn.mapping.tier.field_id == "customfield_10002"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deployment": "datacenter", "auth": {"user_env": "U", "token_env": "T"}}, "datacenter connection needs"),
        ({"auth": {"pat_env": "P"}}, "cloud connection needs"),
        ({"type": "servicenow"}, "literal"),
        ({"auth": {"user_env": "U", "token": "inline-secret"}}, "auth"),
        ({"jql_timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"query": "project = SUP ORDER  BY created"}, "leave ORDER BY out"),
    ],
)
def test_bad_connection_documents_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=f"(?i){message}"):
        make_conn(**changes)


def test_secrets_are_read_at_use_time_and_never_shown() -> None:
    conn = make_conn()
    assert "tok-cloud-secret" not in repr(conn) + conn.model_dump_json()
    with pytest.raises(PermanentError, match="environment variable JIRA_TOKEN is not set"):
        build_jira(conn, env={"JIRA_USER": "someone"})
    jira = build_jira(conn, env=ENV)  # offline: no serverInfo call
    assert jira.deploymentType == "Cloud"
    assert jira._session.max_retries == 0


def test_the_adapter_satisfies_the_protocol() -> None:
    adapter: TicketAdapter = JiraAdapter(make_conn(), env=ENV)
    assert adapter.name == "jira"


def test_adapter_verifies_and_parses_raw_bytes() -> None:
    adapter = JiraAdapter(make_conn(), env=ENV)
    body = raw_payload("issue_updated-status-mattermost-cloud-resolved.json")
    signature = "sha256=" + hmac.new(ENV["JIRA_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    adapter.verify_webhook({"X-Hub-Signature": signature}, body, {})
    assert [e.id for e in adapter.parse_webhook({}, body)] == ["chg-10228-resolution", "chg-10228-status"]
    with pytest.raises(WebhookRejected, match="not JSON"):
        adapter.parse_webhook({}, b"{broken")


def test_comment_webhooks_are_enriched_with_the_reporter(
    cloud_jira: tuple[FakeJira, str], make_client: ClientFactory
) -> None:
    fake, url = cloud_jira
    issue = make_issue(41, created=T0, updated=T0)
    issue["key"] = "TES-41"
    fake.add_issue(issue)
    client = make_client(url, enrich_comment_webhooks=True)
    body = payload("comment_created-mattermost-cloud.json")
    body["comment"]["author"] = REPORTER
    # Offline (on the event loop) the adapter says it needs Jira rather than calling it or guessing.
    with pytest.raises(SourceNeeded, match="TES-41"):
        JiraAdapter(client.conn, client).parse_webhook({}, body, offline=True)
    assert fake.requests == []
    (event,) = JiraAdapter(client.conn, client).parse_webhook({}, body)
    assert event.author_role is AuthorRole.customer
    (lookup,) = fake.calls("GET", "/rest/api/2/issue/TES-41")
    assert lookup.query["fields"] == ["reporter"]
    # Bodies that already name the reporter, and non-comment events, need no call.
    JiraAdapter(client.conn, client).parse_webhook({}, payload("issue_updated-commented-mattermost-server.json"))
    assert len(fake.requests) == 1


def test_adapter_sync_and_write_back(cloud_jira: tuple[FakeJira, str], make_client: ClientFactory) -> None:
    fake, url = cloud_jira
    fake.add_issue(make_issue(1, created=T0, updated=T0))
    client: JiraClient = make_client(url)
    adapter = JiraAdapter(client.conn, client)
    pages = list(adapter.sync(None))
    assert [e.id for e in pages[0].events] == ["issue-20001-created"]
    adapter.write_back(WriteBackAction(kind=WriteBackKind.labels, ticket_key="SUP-1", labels=["sla"]))
    assert fake.calls("PUT", "/issue/SUP-1")


def test_retry_after_forms() -> None:
    now = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds("Mon, 06 Jan 2025 09:00:30 GMT", now) == 30
    assert retry_after_seconds("Mon, 06 Jan 2025 08:00:00 GMT", now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_jira_error_text_reads_both_error_lists() -> None:
    import requests

    response = requests.Response()
    response.status_code = 400
    response._content = b'{"errorMessages": ["Bad"], "errors": {"priority": "invalid"}}'
    assert jira_error_text(response) == "Bad; priority: invalid"
    response._content = b"<html>proxy</html>"
    assert jira_error_text(response) == "<html>proxy</html>"


def test_a_reporter_zone_python_does_not_know_leaves_the_ticket_without_one() -> None:
    issue = base_issue()
    issue["fields"]["reporter"]["timeZone"] = "Mars/Olympus"
    assert snapshot(make_conn(), issue).timezone is None
    issue["fields"]["reporter"]["timeZone"] = "Europe/Berlin"
    assert snapshot(make_conn(), issue).timezone == "Europe/Berlin"
