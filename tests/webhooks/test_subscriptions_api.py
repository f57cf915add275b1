"""``/api/v1/webhooks``: create (secret shown once), read, change, delete; URL refusal; admin only."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from app.webhooks.models import SubscriptionRow
from app.webhooks.outbox import wants

Headers = dict[str, str]
SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()


def test_secret_is_generated_and_shown_once(client: TestClient, admin_headers: Headers) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["sla.warning", "sla.breached"]}
    created = client.post("/api/v1/webhooks", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    doc = created.json()
    assert doc["secret"].startswith("whsec_")
    assert doc["enabled"] is True
    shown = client.get(f"/api/v1/webhooks/{doc['id']}", headers=admin_headers).json()
    assert "secret" not in shown
    listed = client.get("/api/v1/webhooks", headers=admin_headers).json()["items"]
    assert [s["id"] for s in listed] == [doc["id"]]
    assert all("secret" not in s for s in listed)


def test_supplied_secret_is_not_echoed(client: TestClient, admin_headers: Headers) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"], "secret": SECRET, "filter": {"tier": "gold"}}
    doc = client.post("/api/v1/webhooks", json=body, headers=admin_headers).json()
    assert doc["secret"] is None
    assert doc["filter"] == {"tier": ["gold"], "priority": []}


def test_bad_secret_and_event_types_name_the_field(client: TestClient, admin_headers: Headers) -> None:
    bad_secret = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/", "event_types": ["sla.met"], "secret": "hunter2"},
        headers=admin_headers,
    )
    assert bad_secret.status_code == 422
    assert bad_secret.json()["errors"][0]["field"] == "secret"
    assert "hunter2" not in bad_secret.text
    bad_types = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/", "event_types": ["SLA Warning"]}, headers=admin_headers
    )
    assert bad_types.status_code == 422


def test_refused_urls_give_422_naming_url(client: TestClient, admin_headers: Headers) -> None:
    for url, reason in [
        ("http://169.254.169.254/latest/meta-data/", "never allowed"),
        ("http://metadata.google.internal/", "never allowed"),
        ("http://[fe80::1]/", "never allowed"),
        ("http://192.168.1.10/hook", "SLA_WEBHOOK_ALLOWED_NETWORKS"),
        ("file:///etc/passwd", "http"),
    ]:
        response = client.post("/api/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=admin_headers)
        assert response.status_code == 422, url
        assert response.headers["content-type"].startswith("application/problem+json")
        [error] = response.json()["errors"]
        assert error["field"] == "url"
        assert reason in error["reason"]


def test_patch_rotates_disables_and_reenables(client: TestClient, admin_headers: Headers) -> None:
    doc = client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/", "event_types": ["sla.met"]}, headers=admin_headers
    ).json()
    path = f"/api/v1/webhooks/{doc['id']}"
    off = client.patch(path, json={"enabled": False, "disabled_reason": "maintenance"}, headers=admin_headers).json()
    assert (off["enabled"], off["disabled_reason"]) == (False, "maintenance")
    on = client.patch(path, json={"enabled": True, "secret": SECRET}, headers=admin_headers).json()
    assert (on["enabled"], on["disabled_reason"]) == (True, None)
    refused = client.patch(path, json={"url": "http://169.254.169.254/"}, headers=admin_headers)
    assert refused.status_code == 422
    assert client.delete(path, headers=admin_headers).status_code == 204
    assert client.get(path, headers=admin_headers).status_code == 404


def test_subscriptions_need_admin(client: TestClient, read_headers: Headers, write_headers: Headers) -> None:
    body = {"url": "http://127.0.0.1:9/", "event_types": ["*"]}
    assert client.post("/api/v1/webhooks", json=body, headers=write_headers).status_code == 403
    assert client.get("/api/v1/webhooks", headers=read_headers).status_code == 403
    assert client.get("/api/v1/webhooks").status_code == 401


def test_filter_matches_tier_and_priority() -> None:
    subscription = SubscriptionRow(event_types=["sla.breached"], filter={"tier": ["platinum"], "priority": []})
    assert wants(subscription, "sla.breached", {"tier": "platinum", "priority": "P3"})
    assert not wants(subscription, "sla.breached", {"tier": "gold", "priority": "P1"})
    assert not wants(subscription, "sla.warning", {"tier": "platinum", "priority": "P1"})
    everything = SubscriptionRow(event_types=["*"], filter={})
    assert wants(everything, "anything.at_all", None)
