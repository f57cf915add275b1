"""Write-back against the fake Jira over HTTP: each action, retries and refusals."""

from __future__ import annotations

import pytest

from integrations.base import PermanentError, RetryableError, WriteBackAction, WriteBackKind
from integrations.jira.writeback import apply, raised_priority
from tests.fakes.jira_server import FakeJira
from tests.integrations.jira.conftest import ClientFactory, SleepRecorder
from tests.integrations.jira.fixtures import T0, make_conn, make_issue

Served = tuple[FakeJira, str]


def _setup(
    served: Served, make_client: ClientFactory, deployment: str = "cloud", **overrides: object
) -> tuple[FakeJira, object]:
    fake, url = served
    fake.add_issue(make_issue(1, created=T0, updated=T0))
    return fake, make_client(url, deployment, **overrides)


def _run(client: object, action: WriteBackAction) -> None:
    apply(client.conn, client, action)  # type: ignore[attr-defined, arg-type]


def test_public_comment(cloud_jira: Served, make_client: ClientFactory) -> None:
    fake, client = _setup(cloud_jira, make_client)
    _run(client, WriteBackAction(kind=WriteBackKind.comment, ticket_key="SUP-1", body="Due in 30 minutes", public=True))
    (call,) = fake.calls("POST", "/issue/SUP-1/comment")
    assert call.json == {"body": "Due in 30 minutes"}
    assert fake.comments["SUP-1"][-1]["internal"] is False


def test_internal_comment_on_cloud_uses_the_jsm_property(cloud_jira: Served, make_client: ClientFactory) -> None:
    fake, client = _setup(cloud_jira, make_client)
    _run(client, WriteBackAction(kind=WriteBackKind.comment, ticket_key="SUP-1", body="Breached", public=False))
    (call,) = fake.calls("POST", "/issue/SUP-1/comment")
    assert call.json == {"body": "Breached", "properties": [{"key": "sd.public.comment", "value": {"internal": True}}]}
    assert fake.comments["SUP-1"][-1]["internal"] is True


def test_internal_comment_on_data_center_adds_the_visibility(dc_jira: Served, make_client: ClientFactory) -> None:
    fake, client = _setup(
        dc_jira, make_client, "datacenter", internal_comment_visibility={"type": "role", "value": "Service Desk Team"}
    )
    _run(client, WriteBackAction(kind=WriteBackKind.comment, ticket_key="SUP-1", body="Breached"))
    (call,) = fake.calls("POST", "/issue/SUP-1/comment")
    assert call.json["visibility"] == {"type": "role", "value": "Service Desk Team"}
    assert call.auth_scheme == "Bearer"


def test_labels_are_added(cloud_jira: Served, make_client: ClientFactory) -> None:
    fake, client = _setup(cloud_jira, make_client)
    fake.issues["SUP-1"]["fields"]["labels"] = ["vip"]
    _run(client, WriteBackAction(kind=WriteBackKind.labels, ticket_key="SUP-1", labels=["sla-breached", "vip"]))
    (call,) = fake.calls("PUT", "/issue/SUP-1")
    assert call.json == {"update": {"labels": [{"add": "sla-breached"}, {"add": "vip"}]}}
    assert fake.issues["SUP-1"]["fields"]["labels"] == ["vip", "sla-breached"]


def test_priority_by_name(cloud_jira: Served, make_client: ClientFactory) -> None:
    fake, client = _setup(cloud_jira, make_client)
    _run(client, WriteBackAction(kind=WriteBackKind.priority, ticket_key="SUP-1", priority="Highest"))
    assert fake.calls("PUT", "/issue/SUP-1")[0].json == {"fields": {"priority": {"name": "Highest"}}}
    assert fake.issues["SUP-1"]["fields"]["priority"]["name"] == "Highest"


def test_priority_raise_climbs_one_step(cloud_jira: Served, make_client: ClientFactory) -> None:
    fake, client = _setup(cloud_jira, make_client)  # the real TES-41 issue is High
    _run(client, WriteBackAction(kind=WriteBackKind.priority, ticket_key="SUP-1", priority="raise"))
    assert fake.issues["SUP-1"]["fields"]["priority"]["name"] == "Highest"
    _run(client, WriteBackAction(kind=WriteBackKind.priority, ticket_key="SUP-1", priority="raise"))
    assert len(fake.calls("PUT", "/issue/SUP-1")) == 1  # already at the top: nothing to do


def test_raise_order_comes_from_the_mapping() -> None:
    conn = make_conn()
    assert [raised_priority(conn, p) for p in ("Low", "Medium", "High", "Highest")] == [
        "Medium",
        "High",
        "Highest",
        None,
    ]
    with pytest.raises(PermanentError, match="not in the connection's priority mapping"):
        raised_priority(conn, "Blocker")


@pytest.mark.parametrize(("deployment", "attr"), [("cloud", "accountId"), ("datacenter", "name")])
def test_assign(deployment: str, attr: str, cloud_jira: Served, dc_jira: Served, make_client: ClientFactory) -> None:
    fake, client = _setup(
        cloud_jira if deployment == "cloud" else dc_jira,
        make_client,
        deployment,
        mapping={"assignees": {"team-lead": "lead-7"}},
    )
    _run(client, WriteBackAction(kind=WriteBackKind.assign, ticket_key="SUP-1", assignee="team-lead"))
    _run(client, WriteBackAction(kind=WriteBackKind.assign, ticket_key="SUP-1", assignee=None))
    assert [c.json for c in fake.calls("PUT", "/issue/SUP-1/assignee")] == [{attr: "lead-7"}, {attr: None}]


def test_a_refusal_is_permanent_with_jiras_errors(
    cloud_jira: Served, make_client: ClientFactory, sleeps: SleepRecorder
) -> None:
    fake, client = _setup(cloud_jira, make_client)
    with pytest.raises(PermanentError, match="priority: The priority selected is invalid: Urgent") as caught:
        _run(client, WriteBackAction(kind=WriteBackKind.priority, ticket_key="SUP-1", priority="Urgent"))
    assert caught.value.status == 400
    with pytest.raises(PermanentError, match="Issue does not exist") as missing:
        _run(client, WriteBackAction(kind=WriteBackKind.comment, ticket_key="SUP-404", body="x"))
    assert missing.value.status == 404
    fake.fail(
        1, 403, body={"errorMessages": ["You do not have permission to edit issues in this project."], "errors": {}}
    )
    with pytest.raises(PermanentError, match="permission to edit") as forbidden:
        _run(client, WriteBackAction(kind=WriteBackKind.labels, ticket_key="SUP-1", labels=["x"]))
    assert forbidden.value.status == 403
    assert sleeps.waits == []


def test_429_then_success(cloud_jira: Served, make_client: ClientFactory, sleeps: SleepRecorder) -> None:
    fake, client = _setup(cloud_jira, make_client)
    fake.fail(1, 429, retry_after="3")
    _run(client, WriteBackAction(kind=WriteBackKind.labels, ticket_key="SUP-1", labels=["sla"]))
    assert sleeps.waits == [3.0]
    assert fake.issues["SUP-1"]["fields"]["labels"][-1] == "sla"


def test_persistent_503_is_retryable(cloud_jira: Served, make_client: ClientFactory, sleeps: SleepRecorder) -> None:
    fake, client = _setup(cloud_jira, make_client, attempts=2)
    fake.fail(5, 503)
    with pytest.raises(RetryableError, match="HTTP 503 after 2"):
        _run(client, WriteBackAction(kind=WriteBackKind.comment, ticket_key="SUP-1", body="x"))
    assert fake.comments["SUP-1"] == []


def test_a_retry_after_longer_than_we_wait_is_handed_back(
    cloud_jira: Served, make_client: ClientFactory, sleeps: SleepRecorder
) -> None:
    fake, client = _setup(cloud_jira, make_client)
    fake.fail(1, 429, retry_after="3600")
    with pytest.raises(RetryableError) as caught:
        _run(client, WriteBackAction(kind=WriteBackKind.comment, ticket_key="SUP-1", body="x"))
    assert caught.value.retry_after == 3600
    assert sleeps.waits == []


@pytest.mark.parametrize(
    "action",
    [
        WriteBackAction(kind=WriteBackKind.comment, ticket_key="SUP-1"),
        WriteBackAction(kind=WriteBackKind.labels, ticket_key="SUP-1"),
        WriteBackAction(kind=WriteBackKind.priority, ticket_key="SUP-1"),
    ],
)
def test_incomplete_actions_are_refused_before_calling_jira(
    action: WriteBackAction, cloud_jira: Served, make_client: ClientFactory
) -> None:
    fake, client = _setup(cloud_jira, make_client)
    with pytest.raises(PermanentError):
        _run(client, action)
    assert [r for r in fake.requests if r.method != "GET"] == []
