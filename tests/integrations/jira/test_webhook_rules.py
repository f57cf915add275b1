"""Translation rules on variations of the real bodies: comment visibility, author roles, ids, mapping."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.tickets.events import AuthorRole, EventType, StatusCategory
from integrations.base import WebhookRejected
from integrations.jira import translate, webhook
from tests.fakes.jira_server import jira_time
from tests.integrations.jira.fixtures import REPORTER, WAITING, make_conn, payload

COMMENT = "comment_created-mattermost-cloud.json"


def _comment_body(**comment_changes: object) -> dict[str, object]:
    body = payload(COMMENT)
    body["comment"].update(comment_changes)
    return body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-08-20T10:12:51.573-0700", datetime(2019, 8, 20, 17, 12, 51, 573000, tzinfo=UTC)),
        ("2021-08-13T08:43:17.361+0300", datetime(2021, 8, 13, 5, 43, 17, 361000, tzinfo=UTC)),
        ("2025-01-06T09:00:00Z", datetime(2025, 1, 6, 9, tzinfo=UTC)),
        ("2025-01-06T09:00:00.000+05:30", datetime(2025, 1, 6, 3, 30, tzinfo=UTC)),
        (1550286113023, datetime(2019, 2, 16, 3, 1, 53, 23000, tzinfo=UTC)),
    ],
)
def test_jira_times_parse(text: str | int, expected: datetime) -> None:
    assert translate.parse_time(text) == expected


@given(
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timedelta(minutes=m)),
)
def test_jira_formatted_times_round_trip(moment: datetime, offset: timedelta) -> None:
    at = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=timezone(offset))
    assert translate.parse_time(jira_time(at)) == at


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        translate.parse_time("2019-08-27 19:43:24.193")


@pytest.mark.parametrize(
    ("changes", "public"),
    [
        ({"jsdPublic": True}, True),
        ({"jsdPublic": False}, False),
        ({"properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}, False),
        ({"properties": [{"key": "sd.public.comment", "value": {"internal": False}}]}, True),
        ({"visibility": {"type": "role", "value": "Administrators"}}, False),
    ],
)
def test_comment_visibility(changes: dict[str, object], public: bool) -> None:
    (event,) = webhook.parse(make_conn(), {}, _comment_body(**changes))
    assert event.public is public


def test_comment_without_jsd_flag_is_public() -> None:
    (event,) = webhook.parse(make_conn(), {}, payload("comment_created-jenkins-cloud.json"))
    assert event.public is True


@pytest.mark.parametrize(
    ("author_changes", "mapping", "role"),
    [
        ({"accountType": "customer"}, {}, AuthorRole.customer),
        ({"accountType": "app", "displayName": "Automation for Jira"}, {}, AuthorRole.system),
        ({}, {"system_accounts": ["5c5f880629be9642ba529340"]}, AuthorRole.system),
        ({"accountType": "atlassian"}, {}, AuthorRole.agent),
        (
            {"groups": {"size": 1, "items": [{"name": "service-desk-team"}]}},
            {"agent_groups": ["service-desk-team"]},
            AuthorRole.agent,
        ),
    ],
)
def test_comment_author_roles(author_changes: dict[str, object], mapping: dict[str, object], role: AuthorRole) -> None:
    body = payload(COMMENT)
    body["comment"]["author"].update(author_changes)
    conn = make_conn(mapping={**make_conn().mapping.model_dump(), **mapping})
    (event,) = webhook.parse(conn, {}, body)
    assert event.author_role is role


def test_the_reporter_commenting_is_the_customer_and_listed_agents_win() -> None:
    body = payload(COMMENT)
    body["issue"]["fields"]["reporter"] = copy.deepcopy(body["comment"]["author"])
    assert webhook.parse(make_conn(), {}, body)[0].author_role is AuthorRole.customer
    conn = make_conn(mapping={**make_conn().mapping.model_dump(), "agents": ["admin"]})
    assert webhook.parse(conn, {}, body)[0].author_role is AuthorRole.agent


def test_comment_created_and_updated_share_one_id_and_time() -> None:
    created = webhook.parse(make_conn(), {}, payload(COMMENT))
    edited = webhook.parse(make_conn(), {}, payload("comment_updated-mattermost-cloud.json"))
    assert created == edited


def test_comment_deleted_inside_issue_updated_is_ignored() -> None:
    body = payload("issue_updated-comment_edited-mattermost-server.json")
    body["issue_event_type_name"] = "issue_comment_deleted"
    assert webhook.parse(make_conn(), {}, body) == []


def test_missing_changelog_id_falls_back_to_the_webhook_identifier_then_a_body_hash() -> None:
    body = payload("issue_updated-status-mattermost-cloud-started.json")
    del body["changelog"]["id"]
    with_header = webhook.parse(make_conn(), {"X-Atlassian-Webhook-Identifier": "abc-123"}, body)
    assert [e.id for e in with_header] == ["chg-wh-abc-123-changelog-status"]
    hashed = webhook.parse(make_conn(), {}, body)
    assert hashed[0].id.startswith("chg-body-")
    assert hashed[0].id.endswith("-changelog-status")
    assert webhook.parse(make_conn(), {}, copy.deepcopy(body))[0].id == hashed[0].id


def test_status_override_by_name_beats_the_jira_category() -> None:
    body = payload("issue_updated-status-mattermost-cloud-started.json")
    body["issue"]["fields"]["status"] = copy.deepcopy(WAITING)
    body["changelog"]["items"][0].update({"to": "10005", "toString": "Waiting for customer"})
    (event,) = webhook.parse(make_conn(), {}, body)
    assert (event.type, event.to, event.to_category) == (
        EventType.status_changed,
        "Waiting for customer",
        StatusCategory.waiting,
    )


def test_unknown_status_category_stays_unknown() -> None:
    body = payload("issue_updated-status-mattermost-cloud-started.json")
    body["issue"]["fields"]["status"]["id"] = "999"  # the issue no longer tells the target's category
    (event,) = webhook.parse(make_conn(), {}, body)
    assert (event.to, event.to_category) == ("In Progress", None)


def _tier_item(**changes: object) -> dict[str, object]:
    # Shaped like the real custom-field items of issue_created-mattermost-cloud-many-fields.json.
    item: dict[str, object] = {
        "field": "Customer Tier",
        "fieldtype": "custom",
        "fieldId": "customfield_10050",
        "from": None,
        "fromString": None,
        "to": "10035",
        "toString": "Platinum",
    }
    item.update(changes)
    return item


def test_tier_field_change_becomes_field_changed_tier() -> None:
    body = payload("issue_updated-priority-mattermost-cloud-raised.json")
    body["changelog"]["items"] = [_tier_item()]
    (event,) = webhook.parse(make_conn(), {}, body)
    assert (event.type, event.field, event.value, event.from_) == (
        EventType.field_changed,
        "tier",
        "platinum",
        "standard",
    )
    assert event.id == "chg-10235-customfield_10050-tier"


def test_data_center_items_without_field_id_match_by_display_name() -> None:
    body = payload("issue_updated-priority-mattermost-cloud-raised.json")
    body["changelog"]["items"] = [_tier_item(fieldId=None)]
    mapping = {**make_conn().mapping.model_dump(), "field_names": {"customfield_10050": "Customer Tier"}}
    (event,) = webhook.parse(make_conn(mapping=mapping), {}, body)
    assert (event.field, event.value) == ("tier", "platinum")
    assert webhook.parse(make_conn(), {}, body) == []  # without the name it is not a field we watch


def test_tier_from_jsm_organizations() -> None:
    conn = make_conn(mapping={"tier": {"field": "organization", "values": {"ACME": "platinum"}, "default": "std"}})
    assert (
        translate.tier_of(conn, {"customfield_10002": [{"id": 1, "name": "Globex"}, {"id": 2, "name": "ACME"}]})
        == "platinum"
    )
    assert translate.tier_of(conn, {"customfield_10002": []}) == "std"


def test_mapped_custom_fields_are_carried_and_watched() -> None:
    body = payload("issue_created-mattermost-cloud-many-fields.json")
    conn = make_conn(mapping={"fields": ["customfield_10073", "customfield_10071"]})
    (event,) = webhook.parse(conn, {}, body)
    assert event.ticket is not None
    assert event.ticket.fields == {"customfield_10073": "1", "customfield_10071": ["value1", "value2"]}


def test_assignee_username_resolves_to_the_account_id_of_the_current_assignee() -> None:
    (event,) = webhook.parse(make_conn(), {}, payload("issue_updated-assignee-mattermost-cloud.json"))
    assert (event.to, event.from_) == ("5c5f880629be9642ba529340", None)


@pytest.mark.parametrize("body", [b"not json", [1, 2], "text"])
def test_unreadable_bodies_are_refused(body: object) -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook.parse(make_conn(), {}, body)
    assert caught.value.status == 400


def test_unknown_events_yield_nothing() -> None:
    assert webhook.parse(make_conn(), {}, {"webhookEvent": "worklog_created", "timestamp": 1}) == []


def test_broken_issue_body_is_a_400_not_a_crash() -> None:
    body = payload("issue_created-mattermost-cloud.json")
    body["issue"]["fields"]["created"] = "yesterday"
    with pytest.raises(WebhookRejected) as caught:
        webhook.parse(make_conn(), {}, body)
    assert caught.value.status == 400


def test_customer_reporter_fixture_shape() -> None:
    assert REPORTER["accountType"] == "customer"
