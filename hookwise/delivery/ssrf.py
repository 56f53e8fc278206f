"""The SSRF guard: endpoint URLs may not reach private, loopback, link-local, CGNAT, multicast
or metadata addresses, unless an allow-list (``HOOKWISE_ALLOW_NETWORKS``) opens them.

Checked when an endpoint is created and again at connect time, on the addresses actually
connected to (``hookwise.delivery.http1`` filters what a name resolves to), so DNS rebinding
cannot slip past the first check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hookwise.domain.errors import BlockedUrl, InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_BLOCKED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "an unspecified address"),
        ("10.0.0.0/8", "a private network"),
        ("100.64.0.0/10", "a carrier-grade NAT network"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local or cloud metadata address"),
        ("172.16.0.0/12", "a private network"),
        ("192.0.0.0/24", "an IETF protocol address"),
        ("192.168.0.0/16", "a private network"),
        ("198.18.0.0/15", "a benchmarking network"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("fc00::/7", "a private network"),
        ("fe80::/10", "a link-local address"),
        ("ff00::/8", "a multicast address"),
        ("fd00:ec2::254/128", "a cloud metadata address"),
        ("64:ff9b::/96", "a NAT64 address"),
    )
)


def parse_networks(spec: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs from ``"127.0.0.0/8,::1/128"`` or a list; raises InvalidInput on a bad one."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        item = item.strip()
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise InvalidInput("allow_networks", f"{item!r} is not a CIDR") from None
    return tuple(out)


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host string denotes literally, including decimal, hex and octal IPv4
    forms (``2130706433``, ``0x7f.1``); None for a hostname."""
    h = host.strip("[]")
    try:
        return ipaddress.ip_address(h)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(h))
    except (OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which addresses deliveries may reach."""

    allow: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_setting(cls, spec: str) -> NetworkPolicy:
        """From the ``HOOKWISE_ALLOW_NETWORKS`` setting."""
        return cls(parse_networks(spec))

    def blocked_reason(self, ip: IPAddress) -> str | None:
        """Why ``ip`` may not be reached, or None if it may."""
        if isinstance(ip, ipaddress.IPv6Address):
            mapped = ip.ipv4_mapped or ip.sixtofour
            if mapped is not None:
                return self.blocked_reason(mapped)
        if any(ip in net for net in self.allow if net.version == ip.version):
            return None
        for net, why in _BLOCKED:
            if net.version == ip.version and ip in net:
                return why
        return None

    def check_url_syntax(self, url: str, field: str = "url") -> tuple[str, int]:
        """Validate scheme and host; return (host, port)."""
        if len(url) > 2048:
            raise InvalidInput(field, "is longer than 2048 characters")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise InvalidInput(field, f"is not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https"):
            raise InvalidInput(field, "must be an http:// or https:// URL")
        if not parts.hostname:
            raise InvalidInput(field, "has no host")
        if parts.username or parts.password:
            raise InvalidInput(field, "must not carry credentials")
        return parts.hostname, port or (443 if parts.scheme == "https" else 80)

    def check_literal(self, url: str, field: str = "url") -> None:
        """Refuse a URL whose host is a forbidden IP literal (no DNS involved)."""
        host, _ = self.check_url_syntax(url, field)
        ip = parse_ip_literal(host)
        if ip is not None:
            why = self.blocked_reason(ip)
            if why:
                raise BlockedUrl(url, f"{host} is {why}", field)

    async def check_url(self, url: str, field: str = "url") -> None:
        """The creation-time check: syntax, literal, and every address the name resolves to.

        A name that does not resolve now is accepted (it is checked again at connect time).
        """
        self.check_literal(url, field)
        host, port = self.check_url_syntax(url, field)
        if parse_ip_literal(host) is not None:
            return
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError:
            return
        for info in infos:
            ip = ipaddress.ip_address(info[4][0])
            why = self.blocked_reason(ip)
            if why:
                raise BlockedUrl(url, f"{host} resolves to {ip}, {why}", field)


def describe(obj: Any) -> str:
    """Short text of an exception for attempt logs."""
    text = str(obj) or type(obj).__name__
    return text[:500]
