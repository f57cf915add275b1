"""The same Jira changes seen by webhook and by sync give the same events (same ids, same content).

The fake holds TES-41 as the real Cloud webhook bodies describe it: created,
started, resolved, priority lowered and raised, and comment 10019; and CRM-13
with the accountId-style assignee change.
"""

from __future__ import annotations

import copy

from integrations.jira import webhook
from integrations.jira.adapter import JiraAdapter
from integrations.jira.sync import iter_pages
from tests.fakes.jira_server import FakeJira
from tests.integrations.jira.conftest import ClientFactory
from tests.integrations.jira.fixtures import history_from_webhook, payload

TES41_CHANGES = [
    "issue_updated-status-mattermost-cloud-started.json",
    "issue_updated-status-mattermost-cloud-resolved.json",
    "issue_updated-priority-mattermost-cloud-lowered.json",
    "issue_updated-priority-mattermost-cloud-raised.json",
]
COMMENT = "comment_created-mattermost-cloud.json"
ASSIGNED = "issue_updated-assignee-buldygins-cloud.json"


def _load(fake: FakeJira) -> None:
    latest = payload(TES41_CHANGES[-1])["issue"]
    comment = copy.deepcopy(payload(COMMENT)["comment"])
    comment["internal"] = not comment.pop("jsdPublic")
    fake.add_issue(latest, [history_from_webhook(payload(name)) for name in TES41_CHANGES], [comment])
    for name in TES41_CHANGES:  # the status catalogue knows every status these bodies mention
        status = payload(name)["issue"]["fields"]["status"]
        fake.statuses[status["id"]] = status
    body = payload(ASSIGNED)
    fake.add_issue(body["issue"], [history_from_webhook(body)], [])


def test_webhook_and_sync_agree(cloud_jira: tuple[FakeJira, str], make_client: ClientFactory) -> None:
    fake, url = cloud_jira
    _load(fake)
    client = make_client(url, query="", enrich_comment_webhooks=True)
    conn = client.conn
    synced = {e.id: e for page in iter_pages(conn, client, None) for e in page.events}

    # The adapter looks up the reporter the Cloud comment body leaves out, so roles agree too.
    adapter = JiraAdapter(conn, client)
    via_webhook = [e for name in [*TES41_CHANGES, COMMENT, ASSIGNED] for e in adapter.parse_webhook({}, payload(name))]
    via_webhook += webhook.parse(conn, {}, payload("issue_created-mattermost-cloud.json"))

    assert {e.id for e in via_webhook} <= set(synced)
    for event in via_webhook:
        if event.type.value == "created":
            assert synced[event.id].at == event.at  # the snapshot is rebuilt, the identity and time agree
            continue
        assert synced[event.id] == event, event.id
    comment_event = synced["comment-10019"]
    assert (comment_event.author_role.value if comment_event.author_role else None, comment_event.public) == (
        "customer",
        True,
    )


def test_the_created_snapshot_from_sync_matches_the_creation_webhook(
    cloud_jira: tuple[FakeJira, str], make_client: ClientFactory
) -> None:
    fake, url = cloud_jira
    _load(fake)
    client = make_client(url, query="")
    synced = {e.id: e for page in iter_pages(client.conn, client, None) for e in page.events}
    (created,) = webhook.parse(client.conn, {}, payload("issue_created-mattermost-cloud.json"))
    rebuilt = synced[created.id].ticket
    assert rebuilt is not None
    assert created.ticket is not None
    keys = ("status", "status_category", "priority", "assignee", "project", "type", "tier")
    assert {k: getattr(rebuilt, k) for k in keys} == {k: getattr(created.ticket, k) for k in keys}
