"""Incremental sync: JQL search pages -> the same normalized events the webhooks produce.

``iter_pages`` is a generator of :class:`SyncPage`; it holds one page of issues
(plus one issue's changelog and comments) at a time, so memory stays flat
however many issues match. Each page's ``cursor`` is the latest ``updated``
among its issues (never earlier than ``since``); store it only after the
page's events are committed. A failure raises out of the generator before the
failing page is yielded, so a cursor never moves past events that were not
delivered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from app.tickets.events import NormalizedEvent
from integrations.base import PermanentError, SyncPage
from integrations.jira import translate
from integrations.jira.config import JiraConnection

JsonDict = dict[str, Any]
EMBEDDED_CHANGELOG_CAP = 40
BASE_FIELDS = ["summary", "status", "priority", "assignee", "reporter", "issuetype", "project", "created", "updated"]


class IssueSource(Protocol):
    """What sync reads; :class:`integrations.jira.client.JiraClient` is the real one."""

    def search(self, jql: str, fields: list[str], *, expand: str = "changelog") -> Iterator[list[JsonDict]]: ...

    def changelog(self, key: str) -> Iterator[JsonDict]: ...

    def comments(self, key: str) -> Iterator[JsonDict]: ...

    def status_categories(self) -> dict[str, str]: ...


def build_jql(conn: JiraConnection, since: datetime | None) -> str:
    """``(<query>) AND updated >= "<since - overlap>" ORDER BY updated ASC``, in the JQL user's zone."""
    clauses = [f"({conn.query.strip()})"] if conn.query.strip() else []
    if since is not None:
        start = (since - timedelta(seconds=conn.sync_overlap_seconds)).astimezone(ZoneInfo(conn.jql_timezone))
        # JQL has minute precision; flooring only widens the window.
        clauses.append(f'updated >= "{start:%Y-%m-%d %H:%M}"')
    return " AND ".join(clauses) + (" " if clauses else "") + "ORDER BY updated ASC"


def search_fields(conn: JiraConnection) -> list[str]:
    """The issue fields sync asks for: what the snapshot needs, the mapped fields, and comments on Cloud."""
    wanted = list(BASE_FIELDS)
    if conn.mapping.tier is not None:
        wanted.append(conn.mapping.tier.field_id)
    wanted += conn.mapping.fields
    if conn.is_cloud:
        # Cloud comments carry jsdPublic, so a complete embedded list saves a request per issue.
        wanted.append("comment")
    return list(dict.fromkeys(wanted))


def _histories(conn: JiraConnection, source: IssueSource, issue: Mapping[str, Any]) -> Iterable[JsonDict]:
    embedded = issue.get("changelog") or {}
    histories = embedded.get("histories") or []
    total = embedded.get("total")
    # Without a total, a full embedded page may hide more (Cloud embeds at most 40-100 histories).
    truncated = int(total) > len(histories) if total is not None else len(histories) >= EMBEDDED_CHANGELOG_CAP
    return source.changelog(str(issue["key"])) if truncated else histories


def _comments(conn: JiraConnection, source: IssueSource, issue: Mapping[str, Any]) -> Iterable[JsonDict]:
    embedded = (issue.get("fields") or {}).get("comment")
    if conn.is_cloud and isinstance(embedded, Mapping):
        listed = embedded.get("comments") or []
        if int(embedded.get("total") or 0) <= len(listed):
            return listed
    return source.comments(str(issue["key"]))


def issue_events(
    conn: JiraConnection, source: IssueSource, issue: Mapping[str, Any], statuses: Mapping[str, str]
) -> list[NormalizedEvent]:
    """All events of one issue: ``created`` (snapshot rolled back to creation), changes, comments."""
    key, fields = str(issue["key"]), issue.get("fields") or {}
    updated = translate.parse_time(fields["updated"])
    categories = {**statuses, **translate.categories_from_issue(issue)}
    changes: list[NormalizedEvent] = []
    first_items: dict[str, tuple[datetime, JsonDict]] = {}
    for history in _histories(conn, source, issue):
        at = translate.parse_time(history["created"]) if history.get("created") else updated
        changes += translate.history_events(
            conn, key, history, fallback_at=updated, categories=categories, current_fields=fields
        )
        for item in history.get("items") or []:
            slot = translate.first_items_key(conn, item)
            if slot is not None and (slot not in first_items or at < first_items[slot][0]):
                first_items[slot] = (at, item)
    initial = translate.rolled_back(
        conn, translate.snapshot(conn, issue), {slot: item for slot, (_, item) in first_items.items()}, categories
    )
    events = [translate.created_event(conn, issue, fallback_at=updated, ticket=initial), *changes]
    reporter = fields.get("reporter")
    events += [
        translate.comment_event(conn, key, comment, reporter=reporter, fallback_at=updated)
        for comment in _comments(conn, source, issue)
    ]
    return events


def iter_pages(conn: JiraConnection, client: IssueSource, since: datetime | None) -> Iterator[SyncPage]:
    """Yield one :class:`SyncPage` per search page of issues updated since ``since`` (all when None)."""
    statuses = client.status_categories()
    for issues in client.search(build_jql(conn, since), search_fields(conn)):
        if not issues:
            continue
        events: list[NormalizedEvent] = []
        latest = since
        for issue in issues:
            try:
                events += issue_events(conn, client, issue, statuses)
                updated = translate.parse_time(issue["fields"]["updated"])
            except (KeyError, TypeError, ValueError) as exc:
                # Stop rather than skip: a skipped issue behind an advanced cursor would be lost for good.
                raise PermanentError(f"cannot translate Jira issue {issue.get('key')}: {exc}") from exc
            latest = updated if latest is None else max(latest, updated)
        cursor = latest.astimezone(UTC).isoformat() if latest else None
        yield SyncPage(events=events, cursor=cursor, fetched=len(issues))
