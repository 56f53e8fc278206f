"""One HTTP/1.1 connection: writes a request, parses its answer with httptools (llhttp).

The answer is read within bounds, so nothing a server sends is buffered without bound: the head
through ``hookwise.delivery.head_limit`` (8 KiB a line), at most ``body_limit`` bytes of the
body kept, and no more than ``drain_limit`` bytes of body (``drain_limit`` + 64 KiB in all, 1xx
answers and trailers included) read for one answer: past that the answer so far is the answer,
and the connection is closed instead of reused. Interim ``1xx`` answers are skipped.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

import httptools

from hookwise.delivery.dialer import RequestFailed
from hookwise.delivery.head_limit import MAX_HEAD, HeadLimit, HeadTooLarge
from hookwise.egress.ssrf import describe

HEADERS_KEPT = 4096  # bytes of an answer's header lines kept for the attempt log


class ConnectionClosed(Exception):
    """The connection ended before a complete answer."""


class Response(NamedTuple):
    """What came back (a tuple: one is made per attempt)."""

    status: int
    body: bytes  # at most the client's body_limit bytes
    retry_after: str | None
    location: str | None
    headers: bytes = b""  # ``Name: value`` lines, at most HEADERS_KEPT bytes of them


class Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; carries one request at a time."""

    __slots__ = (
        "_body",
        "_body_limit",
        "_drain_limit",
        "_head",
        "_headers",
        "_headers_done",
        "_headers_kept",
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
        self._headers: list[bytes] = []
        self._headers_kept = 0
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
            self._fail(ConnectionClosed("the server switched protocols"))
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
            self._fail(
                ConnectionClosed(describe(exc) if exc else "the server closed the connection")
            )

    # httptools callbacks
    def on_message_begin(self) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():  # a second answer to one request: do not reuse
            self.keep_alive = False
            self.abort()

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers_kept < HEADERS_KEPT:
            line = b"%s: %s\r\n" % (name, value)
            self._headers.append(line)
            self._headers_kept += len(line)
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
            headers = b"".join(self._headers)[:HEADERS_KEPT]
            waiter.set_result(
                Response(self._status, body, self._retry_after, self._location, headers)
            )

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
