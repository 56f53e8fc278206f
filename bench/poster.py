"""The load generator's HTTP client: keep-alive HTTP/1.1 connections on uvloop, responses
parsed by httptools, one request at a time per connection.

Why not aiohttp here: on 2 cores the load generator shares the machine with the service it
measures. Driving ``POST …/messages`` from 64 aiohttp clients took ~60 % of a core and its
per-request latency left the service idle ~40 % of the time (measured: server CPU 59 % at
1,577 msg/s with aiohttp, 94 % at 2,492 msg/s with this client, the same CPU per message).
The workload is unchanged: 64 concurrent clients, one request in flight each.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import httptools


class _Conn(asyncio.Protocol):
    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.closed = False
        self.answered = False  # some bytes of an answer arrived on this connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad answer: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError("connection closed"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.parser.get_status_code(), b"".join(self.body)))
        self.body = []

    def _fail(self, exc: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    def send(self, data: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter


class Poster:
    """POSTs to one origin over pooled keep-alive connections (as many as callers in flight)."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.host_line = f"Host: {self.host}:{self.port}\r\n"
        self._idle: list[_Conn] = []

    def frame(self, path: str, body: bytes) -> bytes:
        """The bytes of one request (build once, send many times)."""
        head = f"POST {path} HTTP/1.1\r\n{self.host_line}{self.head}"
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    async def post(self, data: bytes, timeout: float = 60.0) -> tuple[int, bytes]:
        """Send a framed request; (status, body).

        A pooled connection the server closed as idle (its keep-alive timeout) just as the
        request went out is lost before any answer: then the request goes once more, on a new
        connection, as HTTP clients do. Any other failure is raised.
        """
        conn = None
        while self._idle and conn is None:
            c = self._idle.pop()
            conn = None if c.closed else c
        if conn is not None:
            try:
                return await self._send(conn, data, timeout)
            except ConnectionError:
                if conn.answered:
                    raise
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Conn, self.host, self.port)
        return await self._send(conn, data, timeout)

    async def _send(self, conn: _Conn, data: bytes, timeout: float) -> tuple[int, bytes]:
        conn.answered = False
        try:
            result = await asyncio.wait_for(conn.send(data), timeout)
        except BaseException:
            if conn.transport is not None:
                conn.transport.abort()
            raise
        if not conn.closed:
            self._idle.append(conn)
        return result

    def close(self) -> None:
        """Close the idle connections."""
        for c in self._idle:
            if c.transport is not None:
                c.transport.close()
        self._idle.clear()
