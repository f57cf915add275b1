"""Which receivers outbound webhooks may reach (server-side request forgery guard).

Always refused: link-local addresses (169.254.0.0/16, fe80::/10) and cloud
metadata endpoints (169.254.169.254, fd00:ec2::254, metadata.google.internal).
Refused unless listed in ``SLA_WEBHOOK_ALLOWED_NETWORKS``: every other address
that is not globally routable (private, loopback, CGNAT, unique-local...).
Checked on the URL when a subscription is saved and again on the resolved
addresses before each delivery, so a name re-pointed at an internal address
(DNS rebinding) is caught.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALWAYS_REFUSED: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("169.254.0.0/16"),
    ipaddress.ip_network("fe80::/10"),
    ipaddress.ip_network("fd00:ec2::254/128"),
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})


class RefusedTarget(ValueError):
    """A receiver URL or address outbound webhooks must not reach."""


def parse_networks(text: str) -> list[IPNetwork]:
    """The CIDRs of a comma-separated setting (``ValueError`` naming a bad one)."""
    networks = []
    for part in text.split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not a CIDR network") from None
    return networks


def check_address(address: IPAddress, allowed: Sequence[IPNetwork]) -> None:
    """Raise ``RefusedTarget`` unless webhooks may reach ``address``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in ALWAYS_REFUSED):
        raise RefusedTarget(f"{address} is a link-local or cloud-metadata address, which is never allowed")
    if address.is_global:
        return
    if not any(address.version == net.version and address in net for net in allowed):
        raise RefusedTarget(
            f"{address} is a private or loopback address; list its network in SLA_WEBHOOK_ALLOWED_NETWORKS to allow it"
        )


def _host(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise RefusedTarget("must be an http:// or https:// URL")
    if not parts.hostname:
        raise RefusedTarget("must name a host")
    if parts.username or parts.password:
        raise RefusedTarget("must not carry credentials; use the signing secret instead")
    host = parts.hostname.rstrip(".").lower()
    if host in METADATA_HOSTS:
        raise RefusedTarget(f"{host} is a cloud-metadata endpoint, which is never allowed")
    return host


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def resolve(host: str, port: int | None) -> list[IPAddress]:
    """Every address ``host`` resolves to (``RefusedTarget`` when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedTarget(f"{host} does not resolve ({exc})") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def validate_url(url: str, allowed: Sequence[IPNetwork]) -> str:
    """Check a subscription URL when it is saved; names that do not resolve yet are checked at delivery."""
    host = _host(url)
    literal = _literal(host)
    if literal is not None:
        check_address(literal, allowed)
        return url
    if host == "localhost" or host.endswith(".localhost"):
        check_address(ipaddress.ip_address("127.0.0.1"), allowed)
        return url
    try:
        addresses = resolve(host, urlsplit(url).port)
    except RefusedTarget:
        return url
    for address in addresses:
        check_address(address, allowed)
    return url


def check_delivery_target(url: str, allowed: Sequence[IPNetwork]) -> None:
    """Before a delivery: the URL and every address it resolves to now must be allowed."""
    host = _host(url)
    literal = _literal(host)
    for address in [literal] if literal is not None else resolve(host, urlsplit(url).port):
        check_address(address, allowed)
