"""Inbound Jira webhooks: authenticate (:func:`verify`) and translate (:func:`parse`). Pure.

Decisions (see docs/integrations/jira.md):

* ``jira:issue_created`` -> one ``created`` event with the full snapshot; the
  creation changelog (``from: null`` items) adds nothing and is skipped.
* ``jira:issue_updated`` -> one event per relevant changelog item, plus a
  ``comment`` event when a top-level ``comment`` rides along (Server's
  ``issue_commented``, or no ``issue_event_type_name`` at all on Jira 7).
* ``comment_created`` / ``comment_updated`` -> the same ``comment-<id>`` event:
  an edit re-sends the comment as first seen (idempotent, dedupes away); clocks
  never move because a comment was edited.
* ``comment_deleted`` and ``issue_comment_deleted`` -> nothing: the response
  happened when it happened.
* A comment event without an ``issue`` object (Jira Server) is refused with
  ``WebhookRejected(status=422)`` naming the issue id found in ``comment.self``:
  an issue id is not a ticket key, and the same comment also arrives as
  ``jira:issue_updated``/``issue_commented`` with the issue attached.
* Anything else (worklogs, sprints, projects...) -> no events.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.tickets.events import NormalizedEvent
from integrations.base import PermanentError, WebhookRejected
from integrations.jira import translate
from integrations.jira.config import JiraConnection, read_secret

SIGNATURE_HEADER = "x-hub-signature"
IDENTIFIER_HEADER = "x-atlassian-webhook-identifier"
_ISSUE_IN_COMMENT_SELF = re.compile(r"/issue/(\d+)/comment/")


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _secret(env_name: str, env: Mapping[str, str] | None) -> bytes:
    try:
        return read_secret(env_name, env).encode()
    except PermanentError as exc:
        raise WebhookRejected(f"webhook authentication is not configured: {exc}", status=503) from exc


def verify(
    conn: JiraConnection,
    headers: Mapping[str, str],
    body: bytes,
    query: Mapping[str, str],
    env: Mapping[str, str] | None = None,
) -> None:
    """Raise ``WebhookRejected`` unless every configured check passes.

    ``webhook_secret_env``: ``X-Hub-Signature: sha256=<hex>``, the HMAC-SHA256 of
    the raw body. ``webhook_token_env``: ``?token=`` in the webhook URL (Data
    Center). With neither configured, requests are refused unless the
    connection sets ``allow_unsigned_webhooks``.
    """
    if conn.webhook_secret_env is None and conn.webhook_token_env is None:
        if conn.allow_unsigned_webhooks:
            return
        raise WebhookRejected("no webhook secret or token is configured for this connection")
    if conn.webhook_secret_env is not None:
        header = _lower(headers).get(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected("missing X-Hub-Signature header")
        method, _, given = header.partition("=")
        if method.strip().lower() != "sha256" or not given:
            raise WebhookRejected("X-Hub-Signature must be sha256=<hex>")
        expected = hmac.new(_secret(conn.webhook_secret_env, env), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
            raise WebhookRejected("X-Hub-Signature does not match the body")
    if conn.webhook_token_env is not None:
        token = query.get("token") or ""
        if not hmac.compare_digest(_secret(conn.webhook_token_env, env), token.encode()):
            raise WebhookRejected("missing or wrong webhook token")


def fallback_id(headers: Mapping[str, str], payload: Mapping[str, Any], suffix: str) -> str:
    """An event id when Jira gave none: the webhook identifier header, else a hash of the body."""
    identifier = _lower(headers).get(IDENTIFIER_HEADER)
    if identifier:
        return f"wh-{identifier}-{suffix}"
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]
    return f"body-{digest}-{suffix}"


def _payload_time(payload: Mapping[str, Any]) -> datetime:
    stamp = payload.get("timestamp")
    if isinstance(stamp, int | float):
        return translate.parse_time(stamp)
    raise WebhookRejected("webhook body has no numeric timestamp", status=400)


def _issue(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    issue = payload.get("issue")
    if not isinstance(issue, Mapping) or not issue.get("key") or not issue.get("id"):
        comment_self = str((payload.get("comment") or {}).get("self") or "")
        match = _ISSUE_IN_COMMENT_SELF.search(comment_self)
        hint = f" (comment.self names issue id {match.group(1)}; its key is unknown)" if match else ""
        advice = (
            "; subscribe to 'Issue updated', which carries the comment with its issue" if payload.get("comment") else ""
        )
        raise WebhookRejected(
            f"{payload.get('webhookEvent')} without an issue object cannot be routed to a ticket{hint}{advice}",
            status=422,
        )
    return issue


def _with_ids(
    headers: Mapping[str, str], payload: Mapping[str, Any], suffix: str, obj: Mapping[str, Any]
) -> dict[str, Any]:
    # Jira always sends changelog and comment ids; if one is ever missing, fall back to a stable id.
    return dict(obj) if obj.get("id") else {**obj, "id": fallback_id(headers, payload, suffix)}


def _comment_events(
    conn: JiraConnection, headers: Mapping[str, str], payload: Mapping[str, Any], issue: Mapping[str, Any], at: datetime
) -> list[NormalizedEvent]:
    comment = _with_ids(headers, payload, "comment", payload["comment"])
    reporter = (issue.get("fields") or {}).get("reporter")
    return [translate.comment_event(conn, str(issue["key"]), comment, reporter=reporter, fallback_at=at)]


def _updated_events(
    conn: JiraConnection, headers: Mapping[str, str], payload: Mapping[str, Any], at: datetime
) -> list[NormalizedEvent]:
    issue = _issue(payload)
    fields = issue.get("fields") or {}
    events: list[NormalizedEvent] = []
    changelog = payload.get("changelog")
    if isinstance(changelog, Mapping) and changelog.get("items"):
        history = _with_ids(headers, payload, "changelog", changelog)
        # A webhook changelog has no `created`; the issue's `updated` is stamped in the same change.
        change_at = translate.parse_time(fields["updated"]) if fields.get("updated") else at
        events += translate.history_events(
            conn,
            str(issue["key"]),
            history,
            fallback_at=change_at,
            categories=translate.categories_from_issue(issue),
            current_fields=fields,
        )
    if isinstance(payload.get("comment"), Mapping) and payload.get("issue_event_type_name") != "issue_comment_deleted":
        events += _comment_events(conn, headers, payload, issue, at)
    return events


def parse(conn: JiraConnection, headers: Mapping[str, str], payload: Any) -> list[NormalizedEvent]:
    """Translate one Jira webhook body (already JSON-decoded) into normalized events, possibly none."""
    if not isinstance(payload, Mapping):
        raise WebhookRejected("webhook body is not a JSON object", status=400)
    kind = payload.get("webhookEvent")
    if kind not in (
        "jira:issue_created",
        "jira:issue_updated",
        "jira:issue_deleted",
        "comment_created",
        "comment_updated",
    ):
        return []
    at = _payload_time(payload)
    try:
        if kind == "jira:issue_created":
            return [translate.created_event(conn, _issue(payload), fallback_at=at)]
        if kind == "jira:issue_deleted":
            return [translate.deleted_event(conn, _issue(payload), at=at)]
        if kind == "jira:issue_updated":
            return _updated_events(conn, headers, payload, at)
        if not isinstance(payload.get("comment"), Mapping):
            raise WebhookRejected(f"{kind} without a comment object", status=400)
        return _comment_events(conn, headers, payload, _issue(payload), at)
    except (KeyError, TypeError, ValueError) as exc:
        # Pydantic's ValidationError is a ValueError: a body we cannot read is the sender's problem.
        raise WebhookRejected(f"unreadable {kind} body: {exc}", status=400) from exc
