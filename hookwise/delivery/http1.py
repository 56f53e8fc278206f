"""A lean HTTP/1.1 client for webhook POSTs: keep-alive connections pooled per origin, responses
parsed by httptools (llhttp), the SSRF guard applied to every address actually connected to.

Why not aiohttp: on this workload (small POSTs, 64-1,024 in flight, one event loop) aiohttp's
request path was 55-60 % of the worker's CPU; this client does the same wire work with a
fraction of the objects per request (see bench/README.md for the side-by-side figures).

What it does and does not do, on purpose:
- ``POST`` only, with a ``Content-Length`` body; no redirects (a 3xx is the answer), no cookies,
  no compression (no ``Accept-Encoding`` is sent, so answers come as they are).
- Connections: the addresses of a name are raced (happy eyeballs, ``hookwise.delivery.dialer``),
  or every connection goes through an HTTP ``CONNECT`` egress proxy when one is set; then the
  proxy resolves the name and decides what may be reached, and only IP-literal hosts are still
  checked here (the URL-level check at creation applies either way).
- Responses: ``Content-Length``, chunked, or read-until-close bodies; informational ``1xx``
  answers are skipped. The head is bounded (``hookwise.delivery.head_limit``: 8 KiB a line);
  at most ``body_limit`` bytes of the body are kept, and no more than ``drain_limit`` bytes of
  body (``drain_limit`` + 64 KiB in all, 1xx answers and trailers included) are read for one
  answer: past that the answer so far is the answer, and the connection is closed instead of
  reused. Nothing a server sends is buffered without bound.
- TLS with certificate and hostname verification (the system's trust store, or the CA bundle
  of ``HOOKWISE_CA_BUNDLE``: see ``tls_context``).
- A request that failed on a *reused* connection before any byte of an answer came back (the
  server closed it while it sat idle) is sent once more on a fresh connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlsplit

import httptools

from hookwise.delivery.dialer import Dialer, EgressProxy
from hookwise.delivery.dialer import RequestFailed as RequestFailed
from hookwise.delivery.head_limit import MAX_HEAD, HeadLimit, HeadTooLarge
from hookwise.egress.ssrf import NetworkPolicy, describe, parse_ip_literal

KEEPALIVE_SECONDS = 15.0  # an idle connection older than this is closed, not reused
MAX_IDLE_PER_ORIGIN = 1024
_SWEEP_EVERY = 5.0
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


class _Closed(Exception):
    """The connection ended before a complete answer."""


@dataclass(frozen=True, slots=True)
class Target:
    """A URL taken apart once: where to connect and what to put on the request line."""

    scheme: str
    host: str  # as in the URL, without brackets
    port: int
    ip: str | None  # the host when it is an IP literal (in its canonical form)
    prefix: bytes  # request line and Host header

    @property
    def origin(self) -> tuple[str, str, int]:
        """The pool key."""
        return (self.scheme, self.host, self.port)


def parse_target(url: str) -> Target:
    """The Target of an http(s) URL; raises RequestFailed for a URL that cannot be sent to."""
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
    return Target(parts.scheme, ascii_host, port, str(literal) if literal else None, prefix)


class Response(NamedTuple):
    """What came back (a tuple: one is made per attempt)."""

    status: int
    body: bytes  # at most the client's body_limit bytes
    retry_after: str | None
    location: str | None


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; carries one request at a time."""

    __slots__ = (
        "_body",
        "_body_limit",
        "_drain_limit",
        "_head",
        "_headers_done",
        "_location",
        "_parser",
        "_retry_after",
        "_seen",
        "_status",
        "_timer",
        "_waiter",
        "_wire",
        "closed",
        "got_bytes",
        "idle_since",
        "keep_alive",
        "transport",
    )

    def __init__(self, body_limit: int, drain_limit: int) -> None:
        self._body_limit = body_limit
        self._drain_limit = drain_limit
        self._parser = httptools.HttpResponseParser(self)
        self._head = HeadLimit()
        self._wire = 0  # bytes of the answer in progress read off the wire
        self.transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Response] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False
        self.keep_alive = False
        self.got_bytes = False
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._body: list[bytes] = []
        self._seen = 0
        self._retry_after: str | None = None
        self._location: str | None = None
        self._headers_done = False
        self._head.reset()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.abort()  # bytes nobody asked for: this connection cannot be trusted any more
            return
        self.got_bytes = True
        self._wire += len(data)
        try:
            self._feed(data)
        except httptools.HttpParserUpgrade:
            self._fail(_Closed("the server switched protocols"))
        except httptools.HttpParserError as exc:
            self._fail(RequestFailed(f"invalid HTTP answer: {describe(exc)}"))
        except HeadTooLarge as exc:
            self._fail(RequestFailed(str(exc)))
        if self._wire > self._drain_limit + MAX_HEAD and not self.closed:
            self._cut()  # interim answers, chunk framing or trailers past any sane size

    def _feed(self, data: bytes) -> None:
        """Give ``data`` to the parser, a head's bytes only once the head bound allows them."""
        while data and not self.closed:
            if self._headers_done:
                self._parser.feed_data(data)
                return
            end = self._head.scan(data)
            if end < 0:
                self._parser.feed_data(data)
                return
            self._parser.feed_data(data[:end])
            data = data[end:]
            self._head.reset()  # an interim 1xx answer: the next head is counted afresh

    def _cut(self) -> None:
        """Stop reading: the answer so far is the answer if its head is in, else a failure."""
        if self._headers_done and self._status >= 200:
            self.keep_alive = False
            self._finish()
            self.abort()
        else:
            self._fail(RequestFailed(f"answer longer than {self._drain_limit} bytes"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers_done and self._status >= 200:
            # the answer is in (a body that ends with the connection, or one cut short)
            self.keep_alive = False
            self._finish()
        else:
            self._fail(_Closed(describe(exc) if exc else "the server closed the connection"))

    # httptools callbacks
    def on_message_begin(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # a second answer to one request: do not reuse
            self.keep_alive = False
            self.abort()

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 11 and name.lower() == b"retry-after":
            self._retry_after = value.decode("latin-1")
        elif len(name) == 8 and name.lower() == b"location":
            self._location = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        if self._seen < self._body_limit:
            self._body.append(body[: self._body_limit - self._seen])
        self._seen += len(body)
        if self._seen > self._drain_limit:
            self._cut()

    def on_message_complete(self) -> None:
        if self._status < 200:  # 100 Continue, 103 Early Hints: the answer is still to come
            self._reset()
            return
        self.keep_alive = self._parser.should_keep_alive()
        self._finish()

    # the request
    def request(self, data: bytes, deadline: float) -> asyncio.Future[Response]:
        """Write one request; the future gets its answer, or TimeoutError at ``deadline``
        (event loop time), which also closes the connection."""
        assert self.transport is not None
        self._reset()
        self._wire = 0
        self.got_bytes = False
        self.keep_alive = False
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        self._timer = loop.call_at(deadline, self._timed_out)
        self.transport.write(data)
        return waiter

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(TimeoutError())

    def stop_timer(self) -> None:
        """Cancel the deadline of the request in progress (it ended some other way)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _finish(self) -> None:
        self.stop_timer()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            body = b"".join(self._body) if self._body else b""
            waiter.set_result(Response(self._status, body, self._retry_after, self._location))

    def _fail(self, exc: Exception) -> None:
        self.stop_timer()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.abort()

    def abort(self) -> None:
        """Close at once, without waiting for buffers."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def tls_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The TLS settings of deliveries: certificate and hostname verification against the
    system's trust store, or against ``ca_bundle`` alone (a PEM file, or a folder of hashed
    certificates as ``c_rehash`` makes) when it is given."""
    if ca_bundle is None:
        return ssl.create_default_context()
    if Path(ca_bundle).is_dir():
        return ssl.create_default_context(capath=ca_bundle)
    return ssl.create_default_context(cafile=ca_bundle)


class Http1Client:
    """POSTs over pooled HTTP/1.1 connections, guarded against SSRF at connect time."""

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        ssl_context: ssl.SSLContext | None = None,
        proxy: EgressProxy | None = None,
        body_limit: int = 4096,
        drain_limit: int = 1 << 20,
        keepalive_seconds: float = KEEPALIVE_SECONDS,
    ) -> None:
        self._policy = policy
        self._ssl = ssl_context
        self._body_limit = body_limit
        self._drain_limit = drain_limit
        self._keepalive = keepalive_seconds
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._busy: set[_Connection] = set()
        self._dialer = Dialer(policy, proxy)
        self._swept = time.monotonic()
        self._new_connection: Callable[[], _Connection] = lambda: _Connection(
            self._body_limit, self._drain_limit
        )

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = tls_context()
        return self._ssl

    async def post(self, target: Target, data: bytes, timeout: float) -> Response:
        """Send ``data`` (request line, headers and body, already framed) and read the answer,
        all within ``timeout`` seconds.

        Raises RequestFailed, or TimeoutError when the time is up.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        conn = self._take_idle(target.origin)
        reused = conn is not None
        if conn is None:
            conn = await self._connect_before(target, deadline)
        while True:
            self._busy.add(conn)
            ok = False
            try:
                response = await conn.request(data, deadline)
                ok = True
                return response
            except _Closed as exc:
                if not (reused and not conn.got_bytes):
                    raise RequestFailed(f"connection closed before an answer: {exc}") from None
            finally:
                conn.stop_timer()
                self._busy.discard(conn)
                if ok and conn.keep_alive and not conn.closed:
                    self._give_back(target.origin, conn)
                elif not conn.closed:
                    conn.abort()  # cancelled (timed out) mid-request, or not reusable
            # a reused connection the server had closed: once more on a fresh one
            conn = await self._connect_before(target, deadline)
            reused = False

    def _take_idle(self, origin: tuple[str, str, int]) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        oldest_ok = time.monotonic() - self._keepalive
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.idle_since > oldest_ok:
                return conn
            conn.abort()
        return None

    def _give_back(self, origin: tuple[str, str, int], conn: _Connection) -> None:
        now = time.monotonic()
        conn.idle_since = now
        idle = self._idle.get(origin)
        if idle is None:
            idle = self._idle[origin] = []
        if len(idle) >= MAX_IDLE_PER_ORIGIN:
            conn.abort()
        else:
            idle.append(conn)
        if now - self._swept > _SWEEP_EVERY:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Close connections idle for longer than the keep-alive time."""
        self._swept = now
        oldest_ok = now - self._keepalive
        for origin, idle in list(self._idle.items()):
            keep = [c for c in idle if not c.closed and c.idle_since > oldest_ok]
            for c in idle:
                if c.closed or c.idle_since <= oldest_ok:
                    c.abort()
            if keep:
                self._idle[origin] = keep
            else:
                del self._idle[origin]

    async def _connect_before(self, target: Target, deadline: float) -> _Connection:
        async with asyncio.timeout_at(deadline):
            return await self._connect(target)

    async def _connect(self, target: Target) -> _Connection:
        sock = await self._dialer.open(target.host, target.ip, target.port)
        tls = self._ssl_context() if target.scheme == "https" else None
        try:
            try:
                _, conn = await asyncio.get_running_loop().create_connection(
                    self._new_connection,
                    sock=sock,
                    ssl=tls,
                    server_hostname=target.host if tls is not None else None,
                )
            except BaseException:
                sock.close()
                raise
        except ssl.SSLCertVerificationError as exc:
            raise RequestFailed(f"TLS certificate error: {describe(exc)}") from None
        except ssl.SSLError as exc:
            raise RequestFailed(f"TLS error: {describe(exc)}") from None
        except OSError as exc:
            raise RequestFailed(f"connection failed: {describe(exc)}") from None
        return conn

    async def close(self) -> None:
        """Close every connection, idle or busy."""
        for idle in self._idle.values():
            for conn in idle:
                conn.abort()
        self._idle.clear()
        for conn in list(self._busy):
            conn.abort()
        self._busy.clear()
