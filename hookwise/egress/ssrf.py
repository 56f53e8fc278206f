"""The SSRF guard: endpoint URLs may reach only globally reachable addresses, unless an
allow-list (``HOOKWISE_ALLOW_NETWORKS``) opens a network.

An address is decided by what it is, not by a list of bad ranges that can miss one: it must be
global (the standard library's ``is_global``, backed by the IANA special-purpose table below for
older Pythons), not multicast, and every IPv4 address it embeds, in any IPv6 form, must pass too.

Checked when an endpoint is created and again at connect time, on the addresses actually
connected to (``hookwise.delivery.dialer`` filters what a name resolves to), so DNS rebinding
cannot slip past the first check.

One exception is made by name, not by address: a URL of this hookwise's own request inspector
(``/inspect/bin_…`` under its public URL or its listening address, ``NetworkPolicy.own``), so
that an endpoint can point at a bin of the same server. Nothing else of that server, nor of
loopback, is opened by it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hookwise.domain.errors import BlockedUrl, InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), why) for net, why in pairs)


# The IANA special-purpose ranges that are not globally reachable, with the words a refusal uses.
# The decision does not rest on this table alone: an address must also be ``is_global`` by the
# standard library and not multicast (nor, for IPv6, reserved or site-local). The table names
# the ranges, and it holds the ones older Pythons still call global (6to4, local-use NAT64, the
# 3fff::/20 documentation block, all of 192.0.0.0/24).
_NOT_GLOBAL = _nets(
    ("0.0.0.0/8", "an unspecified address"),
    ("10.0.0.0/8", "a private network"),
    ("100.64.0.0/10", "a carrier-grade NAT network"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local or cloud metadata address"),
    ("172.16.0.0/12", "a private network"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.168.0.0/16", "a private network"),
    ("198.18.0.0/15", "a benchmarking network"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address"),
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("::/96", "an IPv4-compatible address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("100::/64", "a discard-only address"),
    ("2001::/32", "a Teredo address"),
    ("2001::/23", "an IETF protocol address"),
    ("2001:db8::/32", "a documentation address"),
    ("2002::/16", "a 6to4 address"),
    ("3fff::/20", "a documentation address"),
    ("fd00:ec2::254/128", "a cloud metadata address"),
    ("fc00::/7", "a private network"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)
# Inside those ranges, the few that IANA lists as globally reachable (anycast services).
_GLOBAL_EXCEPTIONS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "192.0.0.9/32",
        "192.0.0.10/32",
        "2001:1::1/128",
        "2001:1::2/128",
        "2001:3::/32",
        "2001:4:112::/48",
        "2001:20::/28",
        "2001:30::/28",
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: the IPv4 it translates to
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
_LOW32 = 0xFFFFFFFF


def _v4(n: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(n & _LOW32)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """Every IPv4 address ``ip`` carries, with the name of the form that carries it.

    IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), SIIT-translated (::ffff:0:0:0/96),
    NAT64 (64:ff9b::/96), 6to4 (2002::/16), Teredo (2001::/32: the server, and the client as the
    bitwise NOT of the last 32 bits) and ISATAP (an interface id of ``[02]00:5efe`` + IPv4, under
    any prefix).
    """
    n = int(ip)
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if ip.ipv4_mapped is not None:
        found.append(("an IPv4-mapped address", ip.ipv4_mapped))
    elif ip in _COMPATIBLE and n > 1:  # :: and ::1 are themselves, not embeddings
        found.append(("an IPv4-compatible address", _v4(n)))
    elif ip in _TRANSLATED:
        found.append(("an IPv4-translated address", _v4(n)))
    elif ip in _NAT64:
        found.append(("a NAT64 address", _v4(n)))
    if ip.sixtofour is not None:
        found.append(("a 6to4 address", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("a Teredo address", server), ("a Teredo address", client)]
    if (n >> 32) & 0xFCFFFFFF == 0x00005EFE:
        found.append(("an ISATAP address", _v4(n)))
    return found


def address_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` itself is not a public internet address (ignoring what it embeds), or None."""
    if not any(ip in net for net in _GLOBAL_EXCEPTIONS if net.version == ip.version):
        for net, why in _NOT_GLOBAL:
            if net.version == ip.version and ip in net:
                return why
    if ip.is_multicast:
        return "a multicast address"
    if not ip.is_global:
        return "not a globally reachable address"
    if isinstance(ip, ipaddress.IPv6Address) and (ip.is_reserved or ip.is_site_local):
        return "a reserved address"
    return None


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


Origin = tuple[str, str, int]
# a bin's path: its id, then plain segments (no percent-encoding, so no encoded dot or slash)
_BIN_PATH = re.compile(r"/inspect/bin_[0-9A-Za-z]{26}(/[A-Za-z0-9._~!$&'()*+,;=:@-]*)*")


def origin_of(url: str) -> Origin | None:
    """(scheme, lower-case host, port) of an http(s) URL without credentials, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Which addresses deliveries may reach."""

    allow: tuple[IPNetwork, ...] = ()
    #: the origins of this hookwise (public URL, listening address): only their inspector bins
    own: tuple[Origin, ...] = ()

    @classmethod
    def from_setting(cls, spec: str) -> NetworkPolicy:
        """From the ``HOOKWISE_ALLOW_NETWORKS`` setting."""
        return cls(parse_networks(spec))

    def with_own(self, base_urls: Iterable[str]) -> NetworkPolicy:
        """This policy, letting through the inspector bins of the hookwise at ``base_urls``."""
        found = [o for o in map(origin_of, base_urls) if o is not None]
        return dataclasses.replace(self, own=tuple(dict.fromkeys([*self.own, *found])))

    def is_own_bin(self, url: str) -> bool:
        """True for the URL of an inspector bin of this hookwise (by origin and path alone:
        whatever its host resolves to)."""
        if not self.own or origin_of(url) not in self.own:
            return False
        path = urlsplit(url).path
        return _BIN_PATH.fullmatch(path) is not None and not any(
            seg in (".", "..") for seg in path.split("/")
        )

    def allows(self, ip: IPAddress) -> bool:
        """True when ``ip`` lies in an allow-listed network."""
        return any(ip in net for net in self.allow if net.version == ip.version)

    def blocked_reason(self, ip: IPAddress) -> str | None:
        """Why ``ip`` may not be reached, or None if it may.

        Allowed: an allow-listed address, or a global one every embedded IPv4 of which is
        allowed. An IPv4-mapped or NAT64 address is the IPv4 it stands for, so it is decided
        as that IPv4 (an allow-listed ``127.0.0.0/8`` opens ``::ffff:127.0.0.1`` too).
        """
        if self.allows(ip):
            return None
        if isinstance(ip, ipaddress.IPv4Address):
            return address_reason(ip)
        embedded = embedded_ipv4(ip)
        for kind, v4 in embedded:
            why = self.blocked_reason(v4)
            if why:
                return f"{kind} of {v4}, {why}"
        if ip.ipv4_mapped is not None or ip in _NAT64:
            return None  # it is that IPv4, allowed just above
        return address_reason(ip)

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

        A name that does not resolve now is accepted (it is checked again at connect time). A
        bin of this hookwise's inspector is accepted by name (``is_own_bin``).
        """
        if self.is_own_bin(url):
            self.check_url_syntax(url, field)
            return
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
