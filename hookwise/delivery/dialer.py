"""Opening a TCP connection for the HTTP client: the addresses of a name raced RFC 8305 style,
directly or through an HTTP ``CONNECT`` egress proxy (``HOOKWISE_EGRESS_PROXY``, e.g. Smokescreen).

Happy eyeballs: the addresses are tried in the resolver's order with the families interleaved;
a new attempt starts every ``ATTEMPT_DELAY`` seconds while the earlier ones are still pending, or
at once when one fails, and the first to connect wins (the others are closed). A dead address thus
costs 250 ms, not the whole attempt timeout.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from hookwise.delivery.head_limit import HeadLimit, HeadTooLarge
from hookwise.domain.errors import InvalidInput
from hookwise.egress.ssrf import NetworkPolicy, describe, parse_ip_literal

ATTEMPT_DELAY = 0.25  # RFC 8305's recommended connection attempt delay
DNS_TTL_SECONDS = 10.0

Address = tuple[int, str]  # (address family, IP address)


class RequestFailed(Exception):
    """An attempt got no HTTP answer; ``str(exc)`` is the text for the attempt log."""


@dataclass(frozen=True, slots=True)
class EgressProxy:
    """An HTTP proxy every connection is tunnelled through with ``CONNECT``."""

    host: str
    port: int
    authorization: str | None = field(default=None, repr=False)  # a Proxy-Authorization value

    @classmethod
    def from_url(cls, url: str) -> EgressProxy:
        """From ``http://[user:password@]host:port``; raises InvalidInput for anything else."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise InvalidInput("egress_proxy", f"is not a valid URL: {exc}") from None
        if parts.scheme != "http" or not parts.hostname:
            raise InvalidInput("egress_proxy", "must be an http://host:port URL")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise InvalidInput("egress_proxy", "must not have a path, query or fragment")
        auth = None
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            auth = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        return cls(parts.hostname, port or 80, auth)

    @property
    def name(self) -> str:
        """``host:port``, for messages."""
        return authority(self.host, self.port)

    def connect_request(self, host: str, port: int) -> bytes:
        """The ``CONNECT`` request for a tunnel to ``host:port``."""
        target = authority(host, port)
        lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
        if self.authorization:
            lines.append(f"Proxy-Authorization: {self.authorization}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def authority(host: str, port: int) -> str:
    """``host:port``, with an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def interleave(addresses: list[Address]) -> list[Address]:
    """The resolver's order with the address families alternating (RFC 8305, section 4)."""
    by_family: dict[int, list[Address]] = {}
    for address in addresses:
        by_family.setdefault(address[0], []).append(address)
    queues = list(by_family.values())
    out: list[Address] = []
    while queues:
        out.extend(q.pop(0) for q in queues)
        queues = [q for q in queues if q]
    return out


async def _attempt(family: int, ip: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.get_running_loop().sock_connect(sock, (ip, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def dial(addresses: list[Address], port: int, delay: float = ATTEMPT_DELAY) -> socket.socket:
    """A connected socket to the first of ``addresses`` that answers; raises the last OSError
    when none does. Cancelling it closes every attempt."""
    queue = interleave(addresses)
    pending: set[asyncio.Task[socket.socket]] = set()
    last: BaseException = OSError("no address to connect to")
    try:
        while queue or pending:
            if queue:
                family, ip = queue.pop(0)
                pending.add(asyncio.create_task(_attempt(family, ip, port)))
            done, pending = await asyncio.wait(
                pending, timeout=delay if queue else None, return_when=asyncio.FIRST_COMPLETED
            )
            winner = None
            for task in done:
                exc = task.exception()
                if exc is not None:
                    last = exc
                elif winner is None:
                    winner = task.result()
                else:
                    task.result().close()
            if winner is not None:
                return winner
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
            for task in pending:
                if not task.cancelled() and task.exception() is None:
                    task.result().close()
    raise last


async def open_tunnel(sock: socket.socket, proxy: EgressProxy, host: str, port: int) -> None:
    """Ask the proxy at the other end of ``sock`` for a tunnel to ``host:port``; raises
    RequestFailed when it refuses or answers something else than a bare 2xx head."""
    loop = asyncio.get_running_loop()
    await loop.sock_sendall(sock, proxy.connect_request(host, port))
    limit = HeadLimit()
    head = b""
    while True:
        chunk = await loop.sock_recv(sock, 4096)
        if not chunk:
            raise RequestFailed(f"egress proxy {proxy.name} closed the connection on CONNECT")
        try:
            end = limit.scan(chunk)
        except HeadTooLarge as exc:
            raise RequestFailed(f"egress proxy {proxy.name}: {exc}") from None
        head += chunk
        if end >= 0:
            extra = len(chunk) - end
            break
    line = head.split(b"\r\n", 1)[0].decode("latin-1")
    version, _, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not (code.isdigit() and len(code) == 3):
        raise RequestFailed(f"egress proxy {proxy.name} gave an invalid answer: {line[:200]!r}")
    target = authority(host, port)
    if not code.startswith("2"):
        shown = f"HTTP {code} {reason}".strip()[:200]
        raise RequestFailed(f"egress proxy {proxy.name} refused CONNECT {target}: {shown}")
    if extra:
        raise RequestFailed(f"egress proxy {proxy.name} sent bytes after its CONNECT answer")


class Dialer:
    """Where a connection goes: the SSRF guard on every address connected to, a short DNS
    cache, happy eyeballs, and the egress proxy when one is set.

    With a proxy, the proxy resolves the target's name and decides what it may reach (the
    URL-level check at creation still applies); an IP-literal target is still checked here.
    """

    def __init__(self, policy: NetworkPolicy, proxy: EgressProxy | None = None) -> None:
        self._policy = policy
        self._proxy = proxy
        self._dns: dict[tuple[str, int, bool], tuple[float, list[Address]]] = {}

    async def open(
        self, host: str, ip: str | None, port: int, *, guard: bool = True
    ) -> socket.socket:
        """A connected TCP socket to ``host`` (``ip`` when the URL holds an IP literal):
        straight, or a tunnel through the egress proxy. Raises RequestFailed. ``guard=False``
        (an inspector bin of this hookwise, allowed by name) skips the address check."""
        if ip is not None and guard:
            why = self._policy.blocked_reason(ipaddress.ip_address(ip))
            if why:
                raise RequestFailed(f"blocked by the SSRF guard: {host} is {why}")
        proxy = self._proxy
        if proxy is None:
            addresses = _literal(ip) if ip else await self._resolve(host, port, guard=guard)
            try:
                return await dial(addresses, port)
            except OSError as exc:
                raise RequestFailed(f"connection failed: {describe(exc)}") from None
        literal = parse_ip_literal(proxy.host)  # the operator's proxy: not the guard's business
        if literal is not None:
            addresses = _literal(str(literal))
        else:
            addresses = await self._resolve(proxy.host, proxy.port, guard=False)
        try:
            sock = await dial(addresses, proxy.port)
        except OSError as exc:
            raise RequestFailed(f"egress proxy {proxy.name} unreachable: {describe(exc)}") from None
        try:
            try:
                await open_tunnel(sock, proxy, host, port)
            except BaseException:
                sock.close()
                raise
        except OSError as exc:
            raise RequestFailed(f"egress proxy {proxy.name} failed: {describe(exc)}") from None
        return sock

    async def _resolve(self, host: str, port: int, *, guard: bool) -> list[Address]:
        """The addresses of ``host``, those the SSRF guard refuses left out when ``guard``."""
        key = (host, port, guard)
        cached = self._dns.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:  # socket.gaierror and the rest of the resolver's failures
            raise RequestFailed(f"DNS failure: {describe(exc)}") from None
        allowed: list[Address] = []
        refused: list[str] = []
        for family, _, _, _, sockaddr in infos:
            ip = str(sockaddr[0])
            why = self._policy.blocked_reason(ipaddress.ip_address(ip)) if guard else None
            if why:
                refused.append(f"{ip} is {why}")
            elif (family, ip) not in allowed:
                allowed.append((int(family), ip))
        if not allowed:
            reasons = "; ".join(dict.fromkeys(refused)) or "no address"
            raise RequestFailed(f"blocked by the SSRF guard: {host} resolves to {reasons}")
        if len(self._dns) > 10_000:
            self._dns.clear()
        self._dns[key] = (now + DNS_TTL_SECONDS, allowed)
        return allowed


def _literal(ip: str) -> list[Address]:
    return [(int(socket.AF_INET6 if ":" in ip else socket.AF_INET), ip)]
