"""``JiraAdapter``: the :class:`integrations.base.TicketAdapter` for one Jira connection."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.tickets.events import NormalizedEvent
from integrations.base import SourceNeeded, SyncPage, TicketAdapter, WebhookRejected, WriteBackAction
from integrations.jira import sync, webhook, writeback
from integrations.jira.client import JiraClient
from integrations.jira.config import JiraConnection

_COMMENT_EVENTS = ("comment_created", "comment_updated")


class JiraAdapter:
    """Webhooks in, sync pages out, write-back actions applied, for one :class:`JiraConnection`.

    The REST client is created on first use, so verifying and parsing webhooks
    needs no credentials unless comment enrichment has to call Jira.
    """

    def __init__(
        self, conn: JiraConnection, client: JiraClient | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        self.conn = conn
        self.name = conn.name
        self._client = client
        self._env = env

    @property
    def client(self) -> JiraClient:
        if self._client is None:
            self._client = JiraClient(self.conn, env=self._env)
        return self._client

    def verify_webhook(self, headers: Mapping[str, str], body: bytes, query: Mapping[str, str]) -> None:
        """Raise ``WebhookRejected`` unless the request carries a valid signature or token."""
        webhook.verify(self.conn, headers, body, query, env=self._env)

    def parse_webhook(self, headers: Mapping[str, str], body: Any, *, offline: bool = False) -> list[NormalizedEvent]:
        """Translate a webhook body (raw bytes/str or decoded JSON) into normalized events.

        Cloud ``comment_*`` bodies carry an issue without its reporter, and the
        reporter decides whether a comment is the customer's. With
        ``enrich_comment_webhooks`` (the default) the reporter is fetched
        (one ``GET /issue/{key}?fields=reporter``; ``offline`` raises ``SourceNeeded``
        instead); a failure raises ``RetryableError``/``PermanentError`` rather than guessing.
        """
        payload = self._decode(body)
        if self.conn.enrich_comment_webhooks and payload.get("webhookEvent") in _COMMENT_EVENTS:
            payload = self._with_reporter(payload, offline)
        return webhook.parse(self.conn, headers, payload)

    def sync(self, since: datetime | None) -> Iterator[SyncPage]:
        """Pages of events for issues updated since ``since`` (minus the overlap), oldest first."""
        return sync.iter_pages(self.conn, self.client, since)

    def write_back(self, action: WriteBackAction) -> None:
        """Apply an escalation action to the Jira issue."""
        writeback.apply(self.conn, self.client, action)

    @staticmethod
    def _decode(body: Any) -> dict[str, Any]:
        if isinstance(body, bytes | bytearray | str):
            try:
                body = json.loads(body)
            except ValueError as exc:
                raise WebhookRejected(f"webhook body is not JSON: {exc.__class__.__name__}", status=400) from exc
        if not isinstance(body, dict):
            raise WebhookRejected("webhook body is not a JSON object", status=400)
        return body

    def _with_reporter(self, payload: dict[str, Any], offline: bool) -> dict[str, Any]:
        issue = payload.get("issue")
        if not isinstance(issue, dict) or not issue.get("key"):
            return payload  # webhook.parse explains why it cannot route this one
        fields = issue.get("fields") or {}
        if "reporter" in fields:
            return payload
        if offline:
            raise SourceNeeded(f"the comment webhook of {issue['key']} needs its reporter from Jira")
        found = self.client.issue(str(issue["key"]), ["reporter"]).get("fields") or {}
        return {**payload, "issue": {**issue, "fields": {**fields, "reporter": found.get("reporter")}}}


if TYPE_CHECKING:

    def _satisfies_the_protocol(adapter: JiraAdapter) -> TicketAdapter:
        return adapter  # mypy checks JiraAdapter against TicketAdapter here
