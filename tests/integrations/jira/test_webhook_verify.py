"""Webhook authentication: Cloud/DC HMAC ``X-Hub-Signature``, Data Center URL token."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from integrations.base import WebhookRejected
from integrations.jira import webhook
from tests.integrations.jira.fixtures import ENV, make_conn, raw_payload

BODY = raw_payload("issue_updated-status-mattermost-cloud-started.json")
SECRET = ENV["JIRA_WEBHOOK_SECRET"].encode()


def _signature(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def test_a_good_signature_passes() -> None:
    webhook.verify(make_conn(), {"X-Hub-Signature": _signature(BODY)}, BODY, {}, env=ENV)


def test_header_names_are_case_insensitive() -> None:
    webhook.verify(make_conn(), {"x-hub-signature": _signature(BODY)}, BODY, {}, env=ENV)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Hub-Signature"),
        ({"X-Hub-Signature": _signature(BODY, b"wrong secret")}, "does not match"),
        ({"X-Hub-Signature": _signature(BODY + b" ")}, "does not match"),
        ({"X-Hub-Signature": "sha1=" + hashlib.sha1(BODY).hexdigest()}, "sha256=<hex>"),
        ({"X-Hub-Signature": "sha256="}, "sha256=<hex>"),
    ],
)
def test_bad_or_missing_signatures_are_rejected(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookRejected, match=reason) as caught:
        webhook.verify(make_conn(), headers, BODY, {}, env=ENV)
    assert caught.value.status == 401


def test_a_modified_body_fails_even_with_the_original_signature() -> None:
    tampered = BODY.replace(b"In Progress", b"Done!!!!!!!")
    with pytest.raises(WebhookRejected):
        webhook.verify(make_conn(), {"X-Hub-Signature": _signature(BODY)}, tampered, {}, env=ENV)


def test_the_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhook.hmac, "compare_digest", spy)
    webhook.verify(make_conn(), {"X-Hub-Signature": _signature(BODY)}, BODY, {}, env=ENV)
    with pytest.raises(WebhookRejected):
        webhook.verify(make_conn(), {"X-Hub-Signature": _signature(b"x")}, BODY, {}, env=ENV)
    assert len(calls) == 2


def _dc_conn(secret_env: str | None = None) -> Any:
    return make_conn(deployment="datacenter", webhook_secret_env=secret_env, webhook_token_env="JIRA_WEBHOOK_TOKEN")


def test_data_center_url_token() -> None:
    webhook.verify(_dc_conn(), {}, BODY, {"token": ENV["JIRA_WEBHOOK_TOKEN"]}, env=ENV)
    for query in ({}, {"token": "nope"}):
        with pytest.raises(WebhookRejected, match="token"):
            webhook.verify(_dc_conn(), {}, BODY, query, env=ENV)


def test_with_both_configured_both_are_required() -> None:
    conn = _dc_conn("JIRA_WEBHOOK_SECRET")
    webhook.verify(conn, {"X-Hub-Signature": _signature(BODY)}, BODY, {"token": ENV["JIRA_WEBHOOK_TOKEN"]}, env=ENV)
    with pytest.raises(WebhookRejected):
        webhook.verify(conn, {"X-Hub-Signature": _signature(BODY)}, BODY, {}, env=ENV)


def test_nothing_configured_is_refused_unless_explicitly_allowed() -> None:
    with pytest.raises(WebhookRejected, match="no webhook secret"):
        webhook.verify(make_conn(webhook_secret_env=None), {}, BODY, {}, env=ENV)
    webhook.verify(make_conn(webhook_secret_env=None, allow_unsigned_webhooks=True), {}, BODY, {}, env=ENV)


def test_an_unset_secret_variable_is_a_server_problem_and_names_only_the_variable() -> None:
    with pytest.raises(WebhookRejected) as caught:
        webhook.verify(make_conn(), {"X-Hub-Signature": _signature(BODY)}, BODY, {}, env={})
    assert caught.value.status == 503
    assert "JIRA_WEBHOOK_SECRET" in str(caught.value)
    assert ENV["JIRA_WEBHOOK_SECRET"] not in str(caught.value)
