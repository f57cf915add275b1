"""Every real webhook body in shared/payloads/jira, parsed to the exact events expected."""

from __future__ import annotations

from typing import Any

import pytest

from app.tickets.events import NormalizedEvent
from integrations.base import WebhookRejected
from integrations.jira import webhook
from tests.integrations.jira.fixtures import make_conn, payload, payload_names

# Dumped with mode="json", by_alias=True, exclude_none=True, without source and ticket.
EXPECTED: dict[str, list[dict[str, Any]]] = {
    "comment_created-buldygins-cloud.json": [
        {
            "key": "TALK-42",
            "id": "comment-10328",
            "type": "comment",
            "at": "2021-08-18T07:06:20.422000Z",
            "author": "557058:bf39af2f-2a15-473b-ba9b-fecfcab48e41",
            "author_role": "agent",
            "public": True,
        },
    ],
    "comment_created-jenkins-cloud.json": [
        {
            "key": "TEST-24",
            "id": "comment-10021",
            "type": "comment",
            "at": "2018-04-20T06:24:52.300000Z",
            "author": "557058:eb43b4a2-fad1-4ff6-a2d9-38eee0b088b9",
            "author_role": "agent",
            "public": True,
        },
    ],
    "comment_created-mattermost-cloud.json": [
        {
            "key": "TES-41",
            "id": "comment-10019",
            "type": "comment",
            "at": "2019-02-16T03:11:18.321000Z",
            "author": "5c5f880629be9642ba529340",
            "author_role": "agent",
            "public": True,
        },
    ],
    "comment_deleted-mattermost-cloud.json": [],
    "comment_deleted-mattermost-server.json": [],
    "comment_updated-mattermost-cloud.json": [
        {
            "key": "TES-41",
            "id": "comment-10019",
            "type": "comment",
            "at": "2019-02-16T03:11:18.321000Z",
            "author": "5c5f880629be9642ba529340",
            "author_role": "agent",
            "public": True,
        },
    ],
    "issue_created-jenkins-server.json": [
        {"key": "TEST-4", "id": "issue-10003-created", "type": "created", "at": "2015-12-20T18:25:09.582000Z"},
    ],
    "issue_created-mattermost-cloud-many-fields.json": [
        {"key": "KT-22", "id": "issue-10509-created", "type": "created", "at": "2019-08-27T19:43:24.193000Z"},
    ],
    "issue_created-mattermost-cloud.json": [
        {"key": "TES-41", "id": "issue-10040-created", "type": "created", "at": "2019-02-16T03:01:52.971000Z"},
    ],
    "issue_deleted-mattermost-cloud.json": [
        {"key": "IDT-19", "id": "issue-10303-deleted", "type": "deleted", "at": "2019-07-03T18:05:36.176000Z"},
    ],
    "issue_deleted-zulip-server.json": [
        {"key": "BUG-15", "id": "issue-10400-deleted", "type": "deleted", "at": "2013-03-27T17:06:09.102000Z"},
    ],
    "issue_updated-assignee-buldygins-cloud-unassigned.json": [
        {
            "key": "CRM-8",
            "id": "chg-15492-assignee",
            "type": "assignee_changed",
            "at": "2021-08-13T11:35:38.220000Z",
            "from": "60e55212f90dee00694cff7e",
        },
    ],
    "issue_updated-assignee-buldygins-cloud.json": [
        {
            "key": "CRM-13",
            "id": "chg-15485-assignee",
            "type": "assignee_changed",
            "at": "2021-08-13T11:12:47.987000Z",
            "to": "557058:bf39af2f-2a15-473b-ba9b-fecfcab48e41",
            "from": "60b8a7caa5be0a0069f3301f",
        },
    ],
    "issue_updated-assignee-mattermost-cloud-unassigned.json": [
        {
            "key": "TES-41",
            "id": "chg-10231-assignee",
            "type": "assignee_changed",
            "at": "2019-02-16T21:10:32.523000Z",
            "from": "admin",
        },
    ],
    "issue_updated-assignee-mattermost-cloud.json": [
        {
            "key": "TES-41",
            "id": "chg-10230-assignee",
            "type": "assignee_changed",
            "at": "2019-02-16T03:18:01.707000Z",
            "to": "5c5f880629be9642ba529340",
        },
    ],
    "issue_updated-assignee-mattermost-server.json": [
        {
            "key": "PRJA-37",
            "id": "chg-10225-assignee",
            "type": "assignee_changed",
            "at": "2019-06-27T15:32:51.495000Z",
            "to": "admin",
        },
    ],
    "issue_updated-comment_edited-mattermost-server.json": [
        {
            "key": "PRJX-14",
            "id": "comment-10084",
            "type": "comment",
            "at": "2019-06-04T00:50:04.873000Z",
            "author": "levbrouk",
            "author_role": "agent",
            "public": True,
        },
    ],
    "issue_updated-commented-jenkins-server.json": [
        {
            "key": "TEST-4",
            "id": "comment-10000",
            "type": "comment",
            "at": "2015-12-20T19:04:58.421000Z",
            "author": "admin",
            "author_role": "customer",
            "public": True,
        },
    ],
    "issue_updated-commented-mattermost-server.json": [
        {
            "key": "PRJX-14",
            "id": "comment-10082",
            "type": "comment",
            "at": "2019-06-04T00:15:17.234000Z",
            "author": "levbrouk",
            "author_role": "agent",
            "public": True,
        },
    ],
    "issue_updated-priority-jenkins-server.json": [
        {
            "key": "TEST-11",
            "id": "chg-10201-priority",
            "type": "priority_changed",
            "at": "2016-01-14T23:01:40.354000Z",
            "to": "Blocker",
            "from": "Major",
        },
        {
            "key": "TEST-11",
            "id": "chg-10201-resolution",
            "type": "field_changed",
            "at": "2016-01-14T23:01:40.354000Z",
            "field": "resolution",
            "value": "Fixed",
        },
    ],
    "issue_updated-priority-mattermost-cloud-lowered.json": [
        {
            "key": "TES-41",
            "id": "chg-10234-priority",
            "type": "priority_changed",
            "at": "2019-02-16T21:13:52.522000Z",
            "to": "P4",
            "from": "P2",
        },
    ],
    "issue_updated-priority-mattermost-cloud-raised.json": [
        {
            "key": "TES-41",
            "id": "chg-10235-priority",
            "type": "priority_changed",
            "at": "2019-02-16T21:15:16.037000Z",
            "to": "P2",
            "from": "P4",
        },
    ],
    "issue_updated-status-buldygins-cloud.json": [
        {
            "key": "TALK-86",
            "id": "chg-15469-status",
            "type": "status_changed",
            "at": "2021-08-13T05:43:17.361000Z",
            "to": "Selected for Development",
            "to_category": "new",
            "from": "ПЕРЕОТКРЫТА",
        },
    ],
    "issue_updated-status-jenkins-server.json": [
        {
            "key": "TEST-11",
            "id": "chg-10202-resolution",
            "type": "field_changed",
            "at": "2016-01-14T23:06:37.032000Z",
            "from": "Fixed",
            "field": "resolution",
            "value": "Done",
        },
        {
            "key": "TEST-11",
            "id": "chg-10202-status",
            "type": "status_changed",
            "at": "2016-01-14T23:06:37.032000Z",
            "to": "Done",
            "to_category": "resolved",
            "from": "To Do",
        },
    ],
    "issue_updated-status-mattermost-cloud-resolved.json": [
        {
            "key": "TES-41",
            "id": "chg-10228-resolution",
            "type": "field_changed",
            "at": "2019-02-16T03:15:40.477000Z",
            "field": "resolution",
            "value": "Done",
        },
        {
            "key": "TES-41",
            "id": "chg-10228-status",
            "type": "status_changed",
            "at": "2019-02-16T03:15:40.477000Z",
            "to": "Done",
            "to_category": "resolved",
            "from": "In Progress",
        },
    ],
    "issue_updated-status-mattermost-cloud-started.json": [
        {
            "key": "TES-41",
            "id": "chg-10227-status",
            "type": "status_changed",
            "at": "2019-02-16T03:14:22.002000Z",
            "to": "In Progress",
            "to_category": "open",
            "from": "To Do",
        },
    ],
    "issue_updated-status-mattermost-server-in-progress.json": [
        {
            "key": "TES-4",
            "id": "chg-10508-status",
            "type": "status_changed",
            "at": "2019-08-14T03:02:33.678000Z",
            "to": "In Progress",
            "to_category": "open",
            "from": "Reopened",
        },
    ],
    "issue_updated-status-mattermost-server-reopened.json": [
        {
            "key": "TES-4",
            "id": "chg-10507-resolution",
            "type": "field_changed",
            "at": "2019-08-14T03:01:43.647000Z",
            "from": "Done",
            "field": "resolution",
        },
        {
            "key": "TES-4",
            "id": "chg-10507-status",
            "type": "status_changed",
            "at": "2019-08-14T03:01:43.647000Z",
            "to": "Reopened",
            "to_category": "new",
            "from": "Resolved",
        },
    ],
}

REJECTED = {  # Jira Server comment events without an `issue`: the id is in comment.self, the key is not
    "comment_created-mattermost-server.json": "10013",
    "comment_updated-mattermost-server.json": "10013",
}

SNAPSHOTS = {
    "issue_created-jenkins-server.json": {
        "title": "a",
        "status": "To Do",
        "status_category": "new",
        "priority": "P3",
        "tier": "standard",
        "project": "TEST",
        "type": "Task",
        "timezone": "UTC",
        "url": "https://example.atlassian.net/browse/TEST-4",
        "fields": {},
    },
    "issue_created-mattermost-cloud-many-fields.json": {
        "title": "Lots of fields selected",
        "status": "To Do",
        "status_category": "new",
        "priority": "P3",
        "tier": "standard",
        "assignee": "5cedcb4355a88a0fc86388ba",
        "project": "KT",
        "type": "Task",
        "timezone": "America/Vancouver",
        "url": "https://example.atlassian.net/browse/KT-22",
        "fields": {},
    },
    "issue_created-mattermost-cloud.json": {
        "title": "Unit test summary",
        "status": "To Do",
        "status_category": "new",
        "priority": "P2",
        "tier": "standard",
        "project": "TES",
        "type": "Story",
        "timezone": "America/Los_Angeles",
        "url": "https://example.atlassian.net/browse/TES-41",
        "fields": {},
    },
}


def _dump(event: NormalizedEvent) -> dict[str, Any]:
    return event.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"ticket", "source"})


def test_every_fixture_is_covered() -> None:
    assert sorted([*EXPECTED, *REJECTED]) == payload_names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_the_expected_events(name: str) -> None:
    events = webhook.parse(make_conn(), {}, payload(name))
    assert [_dump(e) for e in events] == EXPECTED[name]
    assert all(e.source == "jira" for e in events)


@pytest.mark.parametrize("name", sorted(SNAPSHOTS))
def test_created_events_carry_the_full_snapshot(name: str) -> None:
    (event,) = webhook.parse(make_conn(), {}, payload(name))
    assert event.ticket is not None
    assert event.ticket.model_dump(mode="json", exclude_none=True) == SNAPSHOTS[name]


@pytest.mark.parametrize(("name", "issue_id"), sorted(REJECTED.items()))
def test_server_comment_without_issue_is_refused_with_the_reason(name: str, issue_id: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook.parse(make_conn(), {}, payload(name))
    assert caught.value.status == 422
    assert f"issue id {issue_id}" in str(caught.value)
    assert "Issue updated" in str(caught.value)


def test_the_same_server_comment_arrives_routable_through_issue_updated() -> None:
    (event,) = webhook.parse(make_conn(), {}, payload("issue_updated-commented-mattermost-server.json"))
    assert payload("comment_created-mattermost-server.json")["comment"]["id"] == "10082"
    assert (event.key, event.id) == ("PRJX-14", "comment-10082")


@pytest.mark.parametrize("name", payload_names())
def test_parsing_is_deterministic(name: str) -> None:
    conn = make_conn()
    try:
        first = webhook.parse(conn, {}, payload(name))
    except WebhookRejected:
        return
    assert webhook.parse(conn, {}, payload(name)) == first
