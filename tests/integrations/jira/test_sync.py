"""Sync against the fake Jira over real HTTP: both search flavours, changelog and comment paging, faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from app.tickets.events import AuthorRole, EventType, StatusCategory
from integrations.base import PermanentError, RetryableError
from integrations.jira.sync import build_jql, iter_pages
from tests.fakes.jira_server import FakeJira
from tests.integrations.jira.conftest import ClientFactory, SleepRecorder
from tests.integrations.jira.fixtures import (
    AGENT,
    REPORTER,
    T0,
    WAITING,
    comment,
    history,
    make_conn,
    make_issue,
    minutes,
    status_item,
)


def _seed(fake: FakeJira, count: int) -> None:
    for n in range(1, count + 1):
        fake.add_issue(make_issue(n, created=T0, updated=T0 + minutes(n)))


def test_jql_adds_the_cursor_minus_overlap_in_the_jql_zone() -> None:
    since = datetime.fromisoformat("2025-01-06T09:30:59+00:00")
    assert build_jql(make_conn(), since) == '(project = SUP) AND updated >= "2025-01-06 09:28" ORDER BY updated ASC'
    berlin = make_conn(jql_timezone="Europe/Berlin", query="")
    assert build_jql(berlin, since) == 'updated >= "2025-01-06 10:28" ORDER BY updated ASC'
    assert build_jql(make_conn(), None) == "(project = SUP) ORDER BY updated ASC"


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
def test_multiple_pages_with_cursors(
    deployment: str, cloud_jira: tuple[FakeJira, str], dc_jira: tuple[FakeJira, str], make_client: ClientFactory
) -> None:
    fake, url = cloud_jira if deployment == "cloud" else dc_jira
    _seed(fake, 7)
    client = make_client(url, deployment, page_size=3)
    pages = list(iter_pages(client.conn, client, None))
    assert [p.fetched for p in pages] == [3, 3, 1]
    assert [p.cursor for p in pages] == [(T0 + minutes(n)).isoformat() for n in (3, 6, 7)]
    created = [e.key for p in pages for e in p.events if e.type is EventType.created]
    assert created == [f"SUP-{n}" for n in range(1, 8)]
    if deployment == "cloud":
        searches = fake.calls("GET", "/search/jql")
        assert [s.query.get("nextPageToken") is not None for s in searches] == [False, True, True]
        assert [r for r in fake.requests if r.path == "/rest/api/2/search"] == []
    else:
        searches = [r for r in fake.requests if r.path == "/rest/api/2/search"]
        assert [s.query["startAt"] for s in searches] == [["0"], ["3"], ["6"]]
    assert searches[0].query["expand"] == ["changelog"]
    assert {r.auth_scheme for r in fake.requests} == {"Basic" if deployment == "cloud" else "Bearer"}


def test_since_filters_and_the_cursor_never_goes_back(
    cloud_jira: tuple[FakeJira, str], make_client: ClientFactory
) -> None:
    fake, url = cloud_jira
    _seed(fake, 10)
    client = make_client(url)
    since = T0 + minutes(8) + minutes(1.5)  # 09:09:30 -> window opens at 09:07 (overlap 120 s, minute floor)
    pages = list(iter_pages(client.conn, client, since))
    assert [e.key for p in pages for e in p.events] == ["SUP-7", "SUP-8", "SUP-9", "SUP-10"]
    assert pages[-1].cursor == (T0 + minutes(10)).isoformat()
    assert 'updated >= "2025-01-06 09:07"' in fake.calls("GET", "/search/jql")[0].query["jql"][0]


def _many_histories(count: int) -> list[dict[str, object]]:
    statuses = [("10001", "To Do"), ("3", "In Progress")]
    return [
        history(50000 + i, T0 + minutes(i), [status_item(str(i), frm=statuses[i % 2], to=statuses[(i + 1) % 2])])
        for i in range(count)
    ]


@pytest.mark.parametrize("deployment", ["cloud", "datacenter"])
def test_truncated_changelog_is_read_in_full(
    deployment: str, cloud_jira: tuple[FakeJira, str], dc_jira: tuple[FakeJira, str], make_client: ClientFactory
) -> None:
    fake, url = cloud_jira if deployment == "cloud" else dc_jira
    fake.add_status("3", "In Progress", "indeterminate")
    fake.add_issue(make_issue(1, created=T0, updated=T0 + minutes(300)), _many_histories(250))
    fake.dc_truncates_search_changelog = True  # so the DC fallback is exercised too
    client = make_client(url, deployment)
    (page,) = list(iter_pages(client.conn, client, None))
    changes = [e for e in page.events if e.type is EventType.status_changed]
    assert [e.id for e in changes] == [f"chg-{50000 + i}-status" for i in range(250)]
    assert {e.to_category for e in changes} == {StatusCategory.new, StatusCategory.open}
    if deployment == "cloud":
        pages = fake.calls("GET", "/issue/SUP-1/changelog")
        assert [p.query["startAt"] for p in pages] == [["0"], ["100"], ["200"]]
    else:
        (full,) = [r for r in fake.requests if r.path == "/rest/api/2/issue/SUP-1"]
        assert full.query["expand"] == ["changelog"]


def test_created_snapshot_is_rolled_back_to_creation(
    cloud_jira: tuple[FakeJira, str], make_client: ClientFactory
) -> None:
    fake, url = cloud_jira
    fake.add_status("10001", "To Do", "new")
    issue = make_issue(1, created=T0, updated=T0 + minutes(5), status=WAITING, tier="Platinum")
    fake.add_issue(
        issue,
        [
            history(
                700, T0 + minutes(5), [status_item("700", frm=("10001", "To Do"), to=("10005", "Waiting for customer"))]
            )
        ],
    )
    client = make_client(url)
    created, change = next(iter_pages(client.conn, client, None)).events
    assert created.ticket is not None
    assert (created.ticket.status, created.ticket.status_category, created.ticket.tier) == (
        "To Do",
        StatusCategory.new,
        "platinum",
    )
    assert (change.to, change.to_category, change.from_) == ("Waiting for customer", StatusCategory.waiting, "To Do")


@pytest.mark.parametrize(("deployment", "count"), [("cloud", 3), ("cloud", 8), ("datacenter", 3)])
def test_comments_public_and_internal(
    deployment: str,
    count: int,
    cloud_jira: tuple[FakeJira, str],
    dc_jira: tuple[FakeJira, str],
    make_client: ClientFactory,
) -> None:
    fake, url = cloud_jira if deployment == "cloud" else dc_jira
    comments = [
        comment(800 + i, T0 + minutes(i), REPORTER if i == 0 else AGENT, internal=i % 2 == 1) for i in range(count)
    ]
    fake.add_issue(make_issue(1, created=T0, updated=T0 + minutes(count)), [], comments)
    client = make_client(url, deployment)
    (page,) = list(iter_pages(client.conn, client, None))
    seen = [(e.id, e.author_role, e.public) for e in page.events if e.type is EventType.comment]
    assert seen == [
        (f"comment-{800 + i}", AuthorRole.customer if i == 0 else AuthorRole.agent, i % 2 == 0) for i in range(count)
    ]
    fetched = fake.calls("GET", "/issue/SUP-1/comment")
    if deployment == "cloud" and count <= 5:
        assert fetched == []  # the embedded list was complete and carries jsdPublic
    else:
        assert fetched[0].query["expand"] == ["properties"]


def test_429_with_retry_after_is_honoured_then_succeeds(
    cloud_jira: tuple[FakeJira, str], sleeps: SleepRecorder, make_client: ClientFactory
) -> None:
    fake, url = cloud_jira
    _seed(fake, 4)
    fake.fail(2, 429, path="/search/jql", retry_after="7")
    client = make_client(url, page_size=2)
    pages = list(iter_pages(client.conn, client, None))
    assert [p.fetched for p in pages] == [2, 2]
    assert sleeps.waits == [7.0, 7.0]


def test_persistent_500_raises_retryable_after_the_pages_already_yielded(
    cloud_jira: tuple[FakeJira, str], sleeps: SleepRecorder, make_client: ClientFactory
) -> None:
    fake, url = cloud_jira
    _seed(fake, 4)
    client = make_client(url, page_size=2, attempts=3)
    pages = iter_pages(client.conn, client, None)
    first = next(pages)
    assert first.cursor == (T0 + minutes(2)).isoformat()
    fake.fail(100, 500, path="/search/jql")
    with pytest.raises(RetryableError, match="HTTP 500 after 3 attempt"):
        next(pages)
    assert len(sleeps.waits) == 2
    assert all(0 < w <= 30 for w in sleeps.waits)


def test_a_refused_search_is_permanent_with_jiras_message(
    cloud_jira: tuple[FakeJira, str], sleeps: SleepRecorder, make_client: ClientFactory
) -> None:
    fake, url = cloud_jira
    fake.fail(
        1,
        400,
        path="/search/jql",
        body={"errorMessages": ["Error in the JQL Query: Expecting ')' before the end of the query."], "errors": {}},
    )
    client = make_client(url)
    with pytest.raises(PermanentError, match="Error in the JQL Query") as caught:
        list(iter_pages(client.conn, client, None))
    assert caught.value.status == 400
    assert sleeps.waits == []


def test_bad_credentials_are_permanent_and_never_echo_the_secret(
    cloud_jira: tuple[FakeJira, str], make_client: ClientFactory
) -> None:
    fake, url = cloud_jira
    fake.fail(1, 401, body={"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}})
    client = make_client(url)
    with pytest.raises(PermanentError) as caught:
        list(iter_pages(client.conn, client, None))
    assert caught.value.status == 401
    assert "tok-cloud-secret" not in str(caught.value)
    assert "bot@example.com" not in str(caught.value)


def test_unreachable_jira_is_retryable(make_client: ClientFactory, sleeps: SleepRecorder) -> None:
    from tests.fakes.loopback import free_port

    client = make_client(f"http://127.0.0.1:{free_port()}", attempts=2)
    with pytest.raises(RetryableError, match="ConnectionError"):
        list(iter_pages(client.conn, client, None))
    assert len(sleeps.waits) == 1


class _OnePage:
    """An in-process ``IssueSource`` serving one fixed page."""

    def __init__(self, issues: list[dict[str, object]], full_changelog: list[dict[str, object]] | None = None) -> None:
        self.issues = issues
        self.full_changelog = full_changelog or []
        self.changelog_calls = 0

    def search(self, jql: str, fields: list[str], *, expand: str = "changelog") -> Iterator[list[dict[str, object]]]:
        yield self.issues

    def changelog(self, key: str) -> Iterator[dict[str, object]]:
        self.changelog_calls += 1
        yield from self.full_changelog

    def comments(self, key: str) -> Iterator[dict[str, object]]:
        yield from ()

    def status_categories(self) -> dict[str, str]:
        return {}


def test_an_untranslatable_issue_stops_the_sync_instead_of_being_skipped() -> None:
    broken = make_issue(1, created=T0, updated=T0)
    broken["fields"]["created"] = "not a time"
    with pytest.raises(PermanentError, match="cannot translate Jira issue SUP-1"):
        list(iter_pages(make_conn(deployment="datacenter"), _OnePage([broken]), None))


def test_an_embedded_changelog_without_total_that_looks_full_is_read_in_full() -> None:
    issue = make_issue(1, created=T0, updated=T0 + minutes(50))
    issue["changelog"] = {"histories": _many_histories(40)}
    source = _OnePage([issue], _many_histories(45))
    (page,) = list(iter_pages(make_conn(deployment="datacenter"), source, None))
    assert source.changelog_calls == 1
    assert len([e for e in page.events if e.type is EventType.status_changed]) == 45
