"""A lean HTTP/1.1 client for webhook POSTs: keep-alive connections pooled per origin, responses
parsed by httptools (llhttp), the SSRF guard applied to every address actually connected to.
This module is the pool and a request's life; ``hookwise.delivery.connection`` is one
connection and its parser, ``hookwise.delivery.target`` a URL taken apart.

Why not aiohttp: on this workload (small POSTs, 64-1,024 in flight, one event loop) aiohttp's
request path was most of the worker's CPU; this client does the same wire work with a fraction
of the objects per request (bench/README.md has the figures).

What it does and does not do, on purpose:
- ``POST`` only, with a ``Content-Length`` body; no redirects (a 3xx is the answer), no cookies,
  no compression (no ``Accept-Encoding`` is sent, so answers come as they are).
- Connections: the addresses of a name are raced (happy eyeballs, ``hookwise.delivery.dialer``),
  or every connection goes through an HTTP ``CONNECT`` egress proxy when one is set; then the
  proxy resolves the name and decides what may be reached, and only IP-literal hosts are still
  checked here (the URL-level check at creation applies either way).
- Responses: ``Content-Length``, chunked, or read-until-close bodies; informational ``1xx``
  answers are skipped. Head and body are read within bounds (at most ``body_limit`` bytes
  kept, ``drain_limit`` read: see ``hookwise.delivery.connection``), so nothing a server sends
  is buffered without bound.
- TLS with certificate and hostname verification (the system's trust store, or the CA bundle
  of ``HOOKWISE_CA_BUNDLE``: see ``tls_context``).
- A request that failed on a *reused* connection before any byte of an answer came back (the
  server closed it while it sat idle) is sent once more on a fresh connection.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from hookwise.delivery.connection import Connection, ConnectionClosed, Response
from hookwise.delivery.dialer import Dialer, EgressProxy
from hookwise.delivery.dialer import RequestFailed as RequestFailed
from hookwise.delivery.target import Target
from hookwise.egress.ssrf import NetworkPolicy, describe

KEEPALIVE_SECONDS = 15.0  # an idle connection older than this is closed, not reused
MAX_IDLE_PER_ORIGIN = 1024
_SWEEP_EVERY = 5.0


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
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self._busy: set[Connection] = set()
        self._dialer = Dialer(policy, proxy)
        self._swept = time.monotonic()
        self._new_connection: Callable[[], Connection] = lambda: Connection(
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
            except ConnectionClosed as exc:
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

    def _take_idle(self, origin: tuple[str, str, int]) -> Connection | None:
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

    def _give_back(self, origin: tuple[str, str, int], conn: Connection) -> None:
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

    async def _connect_before(self, target: Target, deadline: float) -> Connection:
        async with asyncio.timeout_at(deadline):
            return await self._connect(target)

    async def _connect(self, target: Target) -> Connection:
        sock = await self._dialer.open(target.host, target.ip, target.port, guard=target.guarded)
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
