"""Where a delivery goes: its URL taken apart once, into what to connect to and the request
line. The URL is checked and normalized here (IDNA host, percent-encoded path and query), so
that what is sent is exactly what the SSRF guard and the pool see.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from hookwise.delivery.dialer import RequestFailed
from hookwise.egress.ssrf import parse_ip_literal

_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


@dataclass(frozen=True, slots=True)
class Target:
    """A URL taken apart once: where to connect and what to put on the request line."""

    scheme: str
    host: str  # as in the URL, without brackets
    port: int
    ip: str | None  # the host when it is an IP literal (in its canonical form)
    prefix: bytes  # request line and Host header
    guarded: bool = True  # False: a bin of this hookwise's inspector (``NetworkPolicy.own``)

    @property
    def origin(self) -> tuple[str, str, int]:
        """The pool key: an unguarded target's connections are pooled apart, so that no other
        URL of the same origin is sent over a connection the SSRF guard did not check."""
        return (self.scheme if self.guarded else f"{self.scheme}+own", self.host, self.port)


def parse_target(url: str, *, guarded: bool = True) -> Target:
    """The Target of an http(s) URL; raises RequestFailed for a URL that cannot be sent to.
    ``guarded=False`` connects without the SSRF guard's address check (an own inspector bin)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RequestFailed(f"invalid URL: {exc}") from None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise RequestFailed("invalid URL: not an http(s) URL with a host")
    default = 443 if parts.scheme == "https" else 80
    port = port or default
    literal = parse_ip_literal(host)
    try:
        ascii_host = host if literal is not None else host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise RequestFailed(f"invalid URL: host {host!r}: {exc}") from None
    shown = f"[{literal}]" if isinstance(literal, ipaddress.IPv6Address) else ascii_host
    if port != default:
        shown = f"{shown}:{port}"
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=_QUERY_SAFE)
    prefix = f"POST {path} HTTP/1.1\r\nHost: {shown}\r\n".encode("ascii")
    ip = str(literal) if literal else None
    return Target(parts.scheme, ascii_host, port, ip, prefix, guarded)
