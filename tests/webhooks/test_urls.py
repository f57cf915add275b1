"""Receiver URL rules: link-local and metadata always refused, private only when allowed."""

from __future__ import annotations

import ipaddress

import pytest

from app.webhooks.urls import RefusedTarget, check_address, check_delivery_target, parse_networks, validate_url

LOOPBACK_ALLOWED = parse_networks("127.0.0.0/8, 10.0.0.0/8,169.254.0.0/16")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.10.1/hook",
        "http://[fe80::1]/hook",
        "http://[fd00:ec2::254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[::ffff:169.254.169.254]/",
    ],
)
def test_link_local_and_metadata_are_refused_even_when_listed(url: str) -> None:
    with pytest.raises(RefusedTarget, match="never allowed"):
        validate_url(url, LOOPBACK_ALLOWED)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9000/hook", "http://localhost/hook", "http://10.1.2.3/", "http://[::1]/", "http://192.168.0.5/"],
)
def test_private_and_loopback_are_refused_by_default(url: str) -> None:
    with pytest.raises(RefusedTarget, match="SLA_WEBHOOK_ALLOWED_NETWORKS"):
        validate_url(url, [])


def test_listed_networks_are_allowed() -> None:
    assert validate_url("http://127.0.0.1:9000/hook", LOOPBACK_ALLOWED) == "http://127.0.0.1:9000/hook"
    assert validate_url("https://10.20.30.40/x", LOOPBACK_ALLOWED)
    with pytest.raises(RefusedTarget):
        validate_url("http://192.168.0.5/", LOOPBACK_ALLOWED)


def test_public_addresses_are_allowed() -> None:
    check_address(ipaddress.ip_address("93.184.216.34"), [])
    check_address(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"), [])


@pytest.mark.parametrize("url", ["ftp://example.com/", "http:///nohost", "https://user:pw@example.com/"])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget):
        validate_url(url, [])


def test_delivery_check_resolves_names(monkeypatch: pytest.MonkeyPatch) -> None:
    # A public-looking name that now resolves to the metadata address (DNS rebinding).
    monkeypatch.setattr(
        "app.webhooks.urls.socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("169.254.169.254", 443))]
    )
    with pytest.raises(RefusedTarget, match="never allowed"):
        check_delivery_target("https://hooks.example.com/x", LOOPBACK_ALLOWED)


def test_bad_allowed_network_setting_names_the_value() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300/8' is not a CIDR"):
        parse_networks("127.0.0.0/8,10.0.0.300/8")
