"""Jira adapter: Jira Cloud and Data Center webhooks and sync in, write-back out.

API for the app (everything takes a :class:`JiraConnection`; secrets are read
from the environment variables it names, at the moment they are needed):

``JiraConnection.model_validate(doc)``
    Parse a ``kind: connection, type: jira`` document.

``JiraAdapter(conn, client=None, env=None)``
    The :class:`integrations.base.TicketAdapter`:

    * ``verify_webhook(headers, body: bytes, query) -> None`` raises
      ``WebhookRejected`` (401 bad/missing signature or token, 503 secret not
      configured).
    * ``parse_webhook(headers, body: bytes | str | dict) -> list[NormalizedEvent]``
      raises ``WebhookRejected`` (400 unreadable, 422 unroutable: a Jira Server
      comment event without its issue). For Cloud ``comment_*`` bodies it may
      call Jira once for the reporter (``enrich_comment_webhooks``), so it can
      also raise ``RetryableError``/``PermanentError``.
    * ``sync(since: datetime | None) -> Iterator[SyncPage]``: store each page's
      events, then its ``cursor`` (ISO-8601 UTC) as the next ``since``.
    * ``write_back(action: WriteBackAction) -> None``.

Lower-level pieces, all usable on their own:

* ``webhook.verify(conn, headers, body, query, env=None)`` and
  ``webhook.parse(conn, headers, payload)`` (pure).
* ``sync.iter_pages(conn, client, since)`` over any ``sync.IssueSource``.
* ``client.JiraClient(conn, jira=None, retry=None, env=None)`` and
  ``client.build_jira(conn, env=None) -> jira.JIRA``.
* ``writeback.apply(conn, client, action)``.
* ``translate``: the pure Jira -> event translation both paths share.

Event ids (dedupe keys, identical from webhook and sync): ``issue-<id>-created``,
``issue-<id>-deleted``, ``chg-<changelog id>-<field>`` (``...-tier`` for the
tier), ``comment-<comment id>``.

Errors: ``RetryableError`` (429/5xx/network after the retries, or a
``Retry-After`` longer than ``max_retry_delay_seconds``; ``retry_after`` set
when Jira said), ``PermanentError`` (other 4xx with Jira's text; missing
environment variable), ``WebhookRejected``. See docs/integrations/jira.md.
"""

from integrations.jira.adapter import JiraAdapter
from integrations.jira.client import JiraClient, RetryPolicy, build_jira
from integrations.jira.config import JiraConnection
from integrations.jira.sync import iter_pages
from integrations.jira.webhook import parse, verify
from integrations.jira.writeback import apply

__all__ = [
    "JiraAdapter",
    "JiraClient",
    "JiraConnection",
    "RetryPolicy",
    "apply",
    "build_jira",
    "iter_pages",
    "parse",
    "verify",
]
