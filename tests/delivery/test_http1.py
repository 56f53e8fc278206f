"""hookwise's HTTP/1.1 client and the sender on top of it, against raw servers on loopback.

Every server here is a bare ``asyncio.start_server`` that reads request bytes and writes answer
bytes chosen by the test, so framing, keep-alive and failures on the wire are exactly controlled.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import ipaddress
import itertools
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvloop
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook

from hookwise.delivery.connection import HEADERS_KEPT, Response
from hookwise.delivery.dialer import dial, interleave
from hookwise.delivery.head_limit import HeadLimit
from hookwise.delivery.http1 import Http1Client, RequestFailed, tls_context
from hookwise.delivery.sender import USER_AGENT, HttpSender
from hookwise.delivery.target import Target, parse_target
from hookwise.domain.models import ClaimedDelivery
from hookwise.egress.ssrf import NetworkPolicy
from hookwise.settings import Settings

LOOPBACK = NetworkPolicy.from_setting("127.0.0.0/8,::1/128")
WAIT = 5.0  # the bound on every wait for something the server side sees


# --- a raw scripted server ---------------------------------------------------------------------


@dataclass
class Seen:
    """One request as the server read it off the wire."""

    conn: int  # index of the connection it came on
    head: bytes  # request line and headers, up to the blank line
    body: bytes

    @property
    def line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    @property
    def headers(self) -> list[tuple[str, str]]:
        out = []
        for text in self.head.decode("latin-1").split("\r\n")[1:]:
            if text:
                name, _, value = text.partition(":")
                out.append((name, value.strip()))
        return out

    def header(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        return [v for k, v in self.headers if k.lower() == name.lower()]


@dataclass
class Step:
    """What the server does with one request: wait for ``gate`` if any, write ``data``, then
    maybe close."""

    data: bytes = b""
    close: bool = False
    gate: asyncio.Event | None = None


@dataclass
class ServerConn:
    """One accepted connection."""

    index: int
    writer: asyncio.StreamWriter
    requests: list[Seen] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # the peer closed or reset it
    done: asyncio.Event = field(default_factory=asyncio.Event)  # closed, whoever did it


class ScriptServer:
    """Answers the n-th request (over all connections) with the n-th step; no step left: close."""

    def __init__(
        self, steps: list[Step], host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> None:
        self.steps = steps
        self.host = host
        self.tls = tls
        self.conns: list[ServerConn] = []
        self.requests: list[Seen] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, path: str = "/hook", *, scheme: str = "http", host: str | None = None) -> str:
        h = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme}://{h}:{self.port}{path}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for c in self.conns:
            c.writer.close()
        for c in self.conns:
            await asyncio.wait_for(c.done.wait(), WAIT)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = ServerConn(len(self.conns), writer)
        self.conns.append(conn)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                seen = Seen(conn.index, head, b"")
                length = seen.header("content-length")
                if length:
                    seen.body = await reader.readexactly(int(length[0]))
                conn.requests.append(seen)
                self.requests.append(seen)
                step = self.steps.pop(0) if self.steps else Step(close=True)
                if step.gate is not None:
                    await step.gate.wait()
                if step.data:
                    writer.write(step.data)
                    await writer.drain()
                if step.close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            conn.ended.set()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
            conn.done.set()


ServerFactory = Callable[..., Awaitable[ScriptServer]]


@pytest.fixture
async def make_server() -> AsyncIterator[ServerFactory]:
    """Start scripted servers: ``await make_server(step_or_bytes, ..., host=..., tls=...)``."""
    started: list[ScriptServer] = []

    async def make(
        *steps: Step | bytes, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> ScriptServer:
        script = [s if isinstance(s, Step) else Step(s) for s in steps]
        server = ScriptServer(script, host, tls)
        await server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        await server.stop()


ClientFactory = Callable[..., Http1Client]


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """Build Http1Clients (loopback allowed unless a policy is given); all closed at the end."""
    made: list[Http1Client] = []

    def make(
        policy: NetworkPolicy = LOOPBACK,
        *,
        ssl_context: ssl.SSLContext | None = None,
        body_limit: int = 4096,
        drain_limit: int = 1 << 20,
        keepalive_seconds: float = 15.0,
    ) -> Http1Client:
        client = Http1Client(
            policy,
            ssl_context=ssl_context,
            body_limit=body_limit,
            drain_limit=drain_limit,
            keepalive_seconds=keepalive_seconds,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> Http1Client:
    return make_client()


def answer(
    status: int = 200, body: bytes = b"", headers: tuple[str, ...] = (), reason: str = "X"
) -> bytes:
    """An HTTP/1.1 answer framed with Content-Length."""
    lines = [f"HTTP/1.1 {status} {reason}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def framed(target: Target, body: bytes = b'{"n":1}') -> bytes:
    """A complete request for ``target``, as the sender frames one."""
    length = b"Content-Length: %d\r\n\r\n" % len(body)
    return target.prefix + b"Content-Type: application/json\r\n" + length + body


async def post(
    client: Http1Client, url: str, body: bytes = b'{"n":1}', *, timeout: float = WAIT
) -> Response:
    target = parse_target(url)
    return await client.post(target, framed(target, body), timeout)


async def until(event: asyncio.Event) -> None:
    await asyncio.wait_for(event.wait(), WAIT)


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


# --- framing and keep-alive --------------------------------------------------------------------


async def test_content_length_answer_headers_and_reuse(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(
        answer(429, b"slow down", ("retry-after: 7", "LOCATION: /elsewhere"), "Too Many"),
        answer(200, b"ok"),
    )
    first = await post(client, server.url("/in?x=1"), b"one")
    head = b"retry-after: 7\r\nLOCATION: /elsewhere\r\nContent-Length: 9\r\n"
    assert first == Response(429, b"slow down", "7", "/elsewhere", head)
    second = await post(client, server.url("/in?x=1"), b"two")
    # nothing left over from the first answer
    assert second == Response(200, b"ok", None, None, b"Content-Length: 2\r\n")

    (conn,) = server.conns  # one connection carried both requests
    assert [r.body for r in conn.requests] == [b"one", b"two"]
    got = conn.requests[0]
    assert got.line == "POST /in?x=1 HTTP/1.1"
    assert got.header("Host") == [f"127.0.0.1:{server.port}"]
    assert got.header("Content-Length") == ["3"]


async def test_chunked_answer_is_assembled(make_server: ServerFactory, client: Http1Client) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n"
        b"7;ext=1\r\n, world\r\n"
        b"1A\r\n" + b"z" * 26 + b"\r\n"
        b"0\r\nX-Trailer: t\r\n\r\n"
    )
    server = await make_server(chunked, answer(204))
    r = await post(client, server.url())
    assert r.status == 200
    assert r.body == b"hello, world" + b"z" * 26
    assert (await post(client, server.url())).status == 204
    assert len(server.conns) == 1  # the chunked framing ended the message: still reusable


async def test_body_delimited_by_close(make_server: ServerFactory, client: Http1Client) -> None:
    until_close = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body runs to the end"
    server = await make_server(Step(until_close, close=True), answer(200, b"again"))
    r = await post(client, server.url())
    assert r[:4] == (200, b"the body runs to the end", None, None)
    r = await post(client, server.url())
    assert r.body == b"again"
    assert len(server.conns) == 2
    assert [len(c.requests) for c in server.conns] == [1, 1]


async def test_body_cut_short_by_close_is_still_the_answer(
    make_server: ServerFactory, client: Http1Client
) -> None:
    """Documented: a Content-Length body that ends with the connection is what came back."""
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello"
    server = await make_server(Step(cut, close=True), answer(200))
    assert (await post(client, server.url()))[:4] == (200, b"hello", None, None)
    await post(client, server.url())
    assert len(server.conns) == 2


@pytest.mark.parametrize(
    "closing",
    [
        answer(200, b"bye", ("Connection: close",)),
        b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nbye",
    ],
    ids=["connection-close", "http-1.0"],
)
async def test_answer_without_keep_alive_closes_the_connection(
    make_server: ServerFactory, client: Http1Client, closing: bytes
) -> None:
    # the server keeps its end open: closing it is the client's job
    server = await make_server(closing, answer(200, b"new"))
    assert (await post(client, server.url())).body == b"bye"
    await until(server.conns[0].ended)
    assert (await post(client, server.url())).body == b"new"
    assert len(server.conns) == 2
    assert [len(c.requests) for c in server.conns] == [1, 1]


async def test_interim_1xx_answers_are_skipped(
    make_server: ServerFactory, client: Http1Client
) -> None:
    interim = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nLocation: /not-this\r\n\r\n"
    )
    server = await make_server(interim + answer(200, b"real"), answer(201, b"next"))
    # the 103's Location belongs to the interim answer, not the final one
    assert (await post(client, server.url()))[:4] == (200, b"real", None, None)
    assert (await post(client, server.url()))[:4] == (201, b"next", None, None)
    assert len(server.conns) == 1


async def test_concurrent_requests_use_separate_connections_then_reuse_them(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(*(answer(200, b"%d" % i) for i in range(4)))
    first = await asyncio.gather(*(post(client, server.url()) for _ in range(2)))
    assert sorted(r.body for r in first) == [b"0", b"1"]
    second = await asyncio.gather(*(post(client, server.url()) for _ in range(2)))
    assert sorted(r.body for r in second) == [b"2", b"3"]
    assert len(server.conns) == 2
    assert [len(c.requests) for c in server.conns] == [2, 2]


async def test_connection_idle_past_keepalive_is_not_reused(
    make_server: ServerFactory, make_client: ClientFactory
) -> None:
    client = make_client(keepalive_seconds=0.0)
    server = await make_server(answer(200), answer(200))
    await post(client, server.url())
    await post(client, server.url())
    assert len(server.conns) == 2
    await until(server.conns[0].ended)  # the expired connection was closed, not leaked


# --- body limits -------------------------------------------------------------------------------


async def test_body_limit_keeps_the_first_bytes_and_the_connection(
    make_server: ServerFactory, make_client: ClientFactory
) -> None:
    client = make_client(body_limit=4096)
    big = bytes(range(256)) * 40  # 10 KiB, no repeating 4 KiB window
    server = await make_server(answer(200, big), answer(200, b"small"))
    r = await post(client, server.url())
    assert r.status == 200
    assert r.body == big[:4096]
    assert (await post(client, server.url())).body == b"small"
    assert len(server.conns) == 1  # the rest of the body was drained, not abandoned


async def test_answer_headers_are_kept_up_to_4_kib(
    make_server: ServerFactory, client: Http1Client
) -> None:
    many = tuple(f"X-Filler-{i}: {'v' * 90}" for i in range(100))  # ~10 KiB of headers
    server = await make_server(answer(200, b"ok", many), answer(200, b"ok", ("X-Next: 1",)))
    r = await post(client, server.url())
    assert len(r.headers) == HEADERS_KEPT and r.headers.startswith(b"X-Filler-0: vvv")
    # the next answer on the connection starts afresh
    assert (await post(client, server.url())).headers == b"X-Next: 1\r\nContent-Length: 2\r\n"


async def test_body_past_drain_limit_is_cut_and_the_connection_dropped(
    make_server: ServerFactory, make_client: ClientFactory
) -> None:
    client = make_client(drain_limit=64 * 1024)
    huge = bytes(range(256)) * 4096  # 1 MiB
    server = await make_server(answer(200, huge, ("Retry-After: 3",)), answer(202))
    r = await post(client, server.url())
    assert r[:4] == (200, huge[:4096], "3", None)
    await until(server.conns[0].ended)
    assert (await post(client, server.url())).status == 202
    assert len(server.conns) == 2


# --- bounds on what an answer may make the client hold ------------------------------------------


def _head(*lines: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"".join(line + b"\r\n" for line in lines)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (_head(b"X-Big: " + b"a" * 9000), r"^answer header line longer than 8190 bytes$"),
        (_head(*[b"X-Many: 1"] * 300), r"^answer has more than 256 header lines$"),
        (_head(*[b"X-Wide: " + b"w" * 8000] * 9), r"^answer headers longer than 65536 bytes"),
        (b"HTTP/1.1 200 " + b"O" * 9000 + b"\r\n", r"^answer header line longer than 8190"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" + _head(b"X-Big: " + b"a" * 9000), r"line longer"),
    ],
    ids=["one-line", "count", "total", "status-line", "after-1xx"],
)
async def test_an_answer_head_past_its_bounds_fails_and_closes(
    make_server: ServerFactory, client: Http1Client, head: bytes, expected: str
) -> None:
    """A hostile server growing its headers: refused once past a bound, not buffered on."""
    server = await make_server(head + b"Content-Length: 0\r\n\r\n", answer(200, b"next"))
    with pytest.raises(RequestFailed, match=expected):
        await post(client, server.url())
    await until(server.conns[0].ended)
    assert (await post(client, server.url())).body == b"next"


async def test_an_answer_head_just_within_its_bounds_is_read(
    make_server: ServerFactory, client: Http1Client
) -> None:
    line = b"X-Edge: " + b"e" * (8190 - 8)  # exactly 8,190 bytes before the CRLF
    many = [b"X-N: %d" % i for i in range(254)]  # 256 header lines with Content-Length
    server = await make_server(
        _head(line, b"Content-Length: 2") + b"\r\nok",
        _head(*many, b"Content-Length: 2") + b"\r\nok",
    )
    assert (await post(client, server.url())).body == b"ok"
    assert (await post(client, server.url())).body == b"ok"
    assert len(server.conns) == 1


async def test_a_head_that_never_ends_fails_before_the_deadline(
    make_server: ServerFactory, client: Http1Client
) -> None:
    """One header line growing forever, sent in many writes: the client gives up at the bound,
    long before its timeout."""
    server = await make_server(Step(b"HTTP/1.1 200 OK\r\nX-Grow: "))
    task = asyncio.create_task(post(client, server.url(), timeout=60))
    writer = None
    for _ in range(100):  # 100 x 1 KiB: past 8 KiB unless nobody is counting
        await asyncio.sleep(0)
        if server.conns and server.requests:
            writer = server.conns[0].writer
            if writer.is_closing() or task.done():
                break
            writer.write(b"g" * 1024)
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        else:
            await asyncio.sleep(0.01)
    with pytest.raises(RequestFailed, match=r"^answer header line longer than 8190 bytes$"):
        await asyncio.wait_for(task, WAIT)
    await until(server.conns[0].ended)


@pytest.mark.parametrize(
    ("tail", "expect_answer"),
    [
        (b"HTTP/1.1 100 Continue\r\n\r\n" * 20_000, False),  # interim answers without end
        (b"5\r\nhello\r\n0\r\n" + b"X-Trailer: t\r\n" * 20_000, True),  # trailers without end
    ],
    ids=["endless-1xx", "endless-trailers"],
)
async def test_what_the_body_limits_do_not_count_is_bounded_too(
    make_server: ServerFactory, make_client: ClientFactory, tail: bytes, expect_answer: bool
) -> None:
    """Interim answers and chunk trailers pass no body byte: the bytes read for one answer are
    bounded all the same (drain_limit plus a head), then the connection is closed."""
    client = make_client(drain_limit=64 * 1024)
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" if expect_answer else b""
    server = await make_server(head + tail, answer(200, b"next"))
    if expect_answer:
        assert (await post(client, server.url()))[:4] == (200, b"hello", None, None)
    else:
        with pytest.raises(RequestFailed, match=r"^answer longer than 65536 bytes$"):
            await post(client, server.url())
    await until(server.conns[0].ended)
    assert (await post(client, server.url())).body == b"next"


@given(st.binary(max_size=300), st.lists(st.integers(0, 400), max_size=8))
def test_head_limit_finds_the_end_wherever_the_chunks_are_cut(junk: bytes, cuts: list[int]) -> None:
    value = junk.replace(b"\n", b"")
    head = b"HTTP/1.1 200 OK\r\nX-J: " + value + b"\r\nA: b\r\n\r\n"
    data = head + b"body"
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    limit, found = HeadLimit(), -1
    for start, stop in itertools.pairwise(bounds):
        end = limit.scan(data[start:stop])
        if end >= 0:
            found = start + end
            break
    assert found == len(head)


# --- connections that end early ----------------------------------------------------------------


async def test_pooled_connection_closed_while_idle(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(Step(answer(200, b"one"), close=True), answer(200, b"two"))
    assert (await post(client, server.url())).body == b"one"  # keep-alive as far as it says
    await until(server.conns[0].done)  # then the server closed it while it sat in the pool
    assert (await post(client, server.url())).body == b"two"
    assert len(server.conns) == 2
    assert [len(c.requests) for c in server.conns] == [1, 1]


async def test_reused_connection_closed_before_an_answer_is_retried_once(
    make_server: ServerFactory, client: Http1Client
) -> None:
    # the race the retry is for: the request went out on a pooled connection the server was
    # just closing; it reads it and hangs up without a byte of an answer
    server = await make_server(answer(200, b"one"), Step(close=True), answer(200, b"two"))
    assert (await post(client, server.url(), b"A")).body == b"one"
    assert (await post(client, server.url(), b"B")).body == b"two"
    assert len(server.conns) == 2
    assert [r.body for r in server.conns[0].requests] == [b"A", b"B"]
    assert [r.body for r in server.conns[1].requests] == [b"B"]


async def test_retry_is_only_once(make_server: ServerFactory, client: Http1Client) -> None:
    server = await make_server(answer(200), Step(close=True), Step(close=True), answer(200))
    await post(client, server.url())
    with pytest.raises(RequestFailed, match="connection closed before an answer"):
        await post(client, server.url())
    assert len(server.conns) == 2


async def test_reused_connection_cut_mid_answer_is_not_retried(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(
        answer(200), Step(b"HTTP/1.1 200 OK\r\nContent-", close=True), answer(200)
    )
    await post(client, server.url())
    with pytest.raises(RequestFailed, match="connection closed before an answer"):
        await post(client, server.url())  # part of an answer came: the request may have acted
    assert len(server.conns) == 1


async def test_fresh_connection_closed_without_answer(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(Step(close=True), answer(200))
    with pytest.raises(RequestFailed) as info:
        await post(client, server.url())
    assert str(info.value) == (
        "connection closed before an answer: the server closed the connection"
    )
    assert len(server.conns) == 1  # a fresh connection is not retried


async def test_garbage_answer(make_server: ServerFactory, client: Http1Client) -> None:
    server = await make_server(b"NOT HTTP\r\n\r\n", answer(200))
    with pytest.raises(RequestFailed, match=r"^invalid HTTP answer"):
        await post(client, server.url())
    await until(server.conns[0].ended)  # the client dropped the connection it cannot trust
    assert (await post(client, server.url())).status == 200
    assert len(server.conns) == 2


async def test_cancelled_by_the_caller_closes_the_connection(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(Step(), answer(200, b"later"))  # the first request gets nothing
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await post(client, server.url(), timeout=WAIT)
    assert len(server.requests) == 1  # the request went out; the answer was waited for
    await until(server.conns[0].ended)
    assert (await post(client, server.url())).body == b"later"
    assert len(server.conns) == 2


async def test_deadline_closes_the_connection(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(Step(), answer(200, b"later"))
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        await post(client, server.url(), timeout=0.2)
    assert 0.15 <= time.monotonic() - t0 < WAIT
    assert len(server.requests) == 1
    await until(server.conns[0].ended)
    assert (await post(client, server.url())).body == b"later"
    assert len(server.conns) == 2


async def test_deadline_ends_with_its_request(
    make_server: ServerFactory, client: Http1Client
) -> None:
    """The timer of a finished request must not fire into the next one on the connection."""
    release = asyncio.Event()
    server = await make_server(answer(200, b"quick"), Step(answer(200, b"slow"), gate=release))
    assert (await post(client, server.url(), timeout=0.2)).body == b"quick"
    second = asyncio.create_task(post(client, server.url(), timeout=WAIT))
    await asyncio.sleep(0.35)  # past the first request's deadline: the passing of time is the point
    release.set()
    assert (await second).body == b"slow"
    assert len(server.conns) == 1


async def test_unsolicited_bytes_on_an_idle_connection_drop_it(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(answer(200, b"one"), answer(200, b"two"))
    assert (await post(client, server.url())).body == b"one"
    # an answer nobody asked for, while the connection sits in the pool
    server.conns[0].writer.write(answer(500, b"stray"))
    await until(server.conns[0].ended)
    assert (await post(client, server.url()))[:4] == (200, b"two", None, None)
    assert len(server.conns) == 2


async def test_bytes_after_the_answer_in_the_same_read_do_not_leak_into_the_next(
    make_server: ServerFactory, client: Http1Client
) -> None:
    """After the answer, in the same segment: the start of another answer nobody asked for.

    The connection cannot be trusted after that (as with stray bytes in a later read); reusing
    it hands the stray status line to the next request's real answer.
    """
    stray = b"HTTP/1.1 500 Stray\r\nX-Junk: "
    server = await make_server(answer(200, b"one") + stray, answer(200, b"two"))
    assert (await post(client, server.url())).body == b"one"
    assert (await post(client, server.url()))[:4] == (200, b"two", None, None)
    assert len(server.conns) == 2


async def test_refused_connection(client: Http1Client) -> None:
    with pytest.raises(RequestFailed, match=r"^connection failed: "):
        await post(client, f"http://127.0.0.1:{free_port()}/hook")


# --- the SSRF guard at connect time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", r"^blocked by the SSRF guard: 127\.0\.0\.1 is a loopback address$"),
        ("2130706433", r"^blocked by the SSRF guard: 2130706433 is a loopback address$"),
        ("[::ffff:127.0.0.1]", r"^blocked by the SSRF guard: .* is an IPv4-mapped address of 127"),
        (
            "[::127.0.0.1]",
            r"^blocked by the SSRF guard: ::127.0.0.1 is an IPv4-compatible address of 127",
        ),
        ("[::7f00:1]", r"^blocked by the SSRF guard: .* of 127\.0\.0\.1, a loopback address$"),
        ("localhost", r"^blocked by the SSRF guard: localhost resolves to 127\.0\.0\.1 is a"),
        # fullwidth digits: not a literal, but a name that resolves to loopback
        ("\uff11\uff12\uff17.0.0.1", r"^blocked by the SSRF guard: 127\.0\.0\.1 resolves to"),
    ],
    ids=[
        "ipv4",
        "decimal",
        "ipv4-mapped",
        "ipv4-compatible",
        "compatible-hex",
        "localhost",
        "fullwidth",
    ],
)
async def test_ssrf_guard_refuses_loopback(
    make_server: ServerFactory, make_client: ClientFactory, host: str, expected: str
) -> None:
    server = await make_server(answer(200))  # reachable, were it allowed
    client = make_client(NetworkPolicy())
    with pytest.raises(RequestFailed, match=expected):
        await post(client, server.url(host=host))
    assert server.conns == []


async def test_allowed_hostname_connects_to_what_it_resolves_to(
    make_server: ServerFactory, client: Http1Client
) -> None:
    server = await make_server(answer(200, b"by name"))
    assert (await post(client, server.url("/n", host="localhost"))).body == b"by name"
    assert server.requests[0].header("Host") == [f"localhost:{server.port}"]


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
async def test_ipv6_literal_on_the_wire(make_server: ServerFactory, client: Http1Client) -> None:
    server = await make_server(answer(200, b"v6"), host="::1")
    assert (await post(client, server.url("/six"))).body == b"v6"
    (got,) = server.requests
    assert got.line == "POST /six HTTP/1.1"
    assert got.header("Host") == [f"[::1]:{server.port}"]


# --- happy eyeballs ---------------------------------------------------------------------------


@contextlib.contextmanager
def blackhole(port: int) -> Iterator[str]:
    """127.0.0.2:``port``, where SYNs go unanswered: a listener whose accept queue is full."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.2", port))
        listener.listen(0)
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.2", port))
            fillers.append(filler)
        with socket.socket() as probe:
            probe.settimeout(0.5)
            try:
                probe.connect(("127.0.0.2", port))
            except TimeoutError:
                yield "127.0.0.2"
                return
        pytest.skip("this kernel answers SYNs to a full accept queue")
    finally:
        for s in [listener, *fillers]:
            s.close()


def fake_dns(monkeypatch: pytest.MonkeyPatch, *ips: str) -> None:
    """Make every name resolve to ``ips``, in that order (the sockets stay real)."""

    async def getaddrinfo(host: object, port: object, **_: object) -> list[object]:
        family = {True: socket.AF_INET6, False: socket.AF_INET}
        return [(family[":" in ip], socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ips]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)


async def test_a_dead_address_costs_a_quarter_second_not_the_timeout(
    make_server: ServerFactory, client: Http1Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await make_server(answer(200, b"second address"))
    with blackhole(server.port) as dead:
        fake_dns(monkeypatch, dead, "10.0.0.1", "127.0.0.1")  # 10.0.0.1: the guard drops it
        t0 = time.monotonic()
        r = await post(client, f"http://dual.test:{server.port}/", timeout=4)
        elapsed = time.monotonic() - t0
    assert r.body == b"second address"
    assert 0.2 <= elapsed < 2.0  # one attempt delay, then the live address
    assert server.requests[0].header("Host") == [f"dual.test:{server.port}"]


async def test_a_refused_address_moves_on_at_once(
    make_server: ServerFactory, client: Http1Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await make_server(answer(200, b"third"))
    fake_dns(monkeypatch, "127.0.0.3", "127.0.0.4", "127.0.0.1")  # nothing listens on the first two
    t0 = time.monotonic()
    assert (await post(client, f"http://refusing.test:{server.port}/")).body == b"third"
    assert time.monotonic() - t0 < 0.25 * 2  # no attempt delay waited out after a refusal


async def test_every_address_refused_is_a_connection_failure(
    client: Http1Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, "127.0.0.3", "127.0.0.4")
    with pytest.raises(RequestFailed, match=r"^connection failed: .*127\.0\.0\.4"):
        await post(client, f"http://nobody.test:{free_port()}/")


async def test_the_losing_attempts_are_closed(make_server: ServerFactory) -> None:
    server = await make_server()
    with blackhole(server.port) as dead:
        sock = await dial([(socket.AF_INET, dead), (socket.AF_INET, "127.0.0.1")], server.port)
        try:
            assert sock.getpeername() == ("127.0.0.1", server.port)
            coros = [t.get_coro() for t in asyncio.all_tasks()]
            pending = [c for c in coros if getattr(c, "__qualname__", "") == "_attempt"]
            assert pending == []  # the attempt on the dead address was cancelled and awaited
        finally:
            sock.close()


def test_the_race_on_uvloop() -> None:
    """hookwise serve runs on uvloop: its sock_connect must be cancellable mid-connect."""

    async def race() -> tuple[str, int]:
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            with blackhole(port) as dead:
                t0 = time.monotonic()
                sock = await dial([(socket.AF_INET, dead), (socket.AF_INET, "127.0.0.1")], port)
                assert time.monotonic() - t0 < 2.0
                with sock:
                    peer: tuple[str, int] = sock.getpeername()
                    return peer
        finally:
            server.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        host, _ = runner.run(race())
    assert host == "127.0.0.1"


def test_address_families_are_interleaved() -> None:
    six, four = int(socket.AF_INET6), int(socket.AF_INET)
    got = interleave([(six, "a"), (six, "b"), (six, "c"), (four, "1"), (four, "2")])
    assert got == [(six, "a"), (four, "1"), (six, "b"), (four, "2"), (six, "c")]


# --- parse_target ------------------------------------------------------------------------------


def _line_and_host(target: Target) -> tuple[str, str]:
    line, host, end = target.prefix.decode("ascii").split("\r\n")
    assert end == ""
    assert host.startswith("Host: ")
    return line, host.removeprefix("Host: ")


def test_parse_target_ipv6_literal() -> None:
    t = parse_target("http://[::1]:8080/x")
    assert (t.scheme, t.host, t.port, t.ip) == ("http", "::1", 8080, "::1")
    assert _line_and_host(t) == ("POST /x HTTP/1.1", "[::1]:8080")
    assert parse_target("http://[0:0::1]/").ip == "::1"  # canonical form


def test_parse_target_decimal_ipv4() -> None:
    t = parse_target("http://2130706433:81/")
    assert t.ip == "127.0.0.1"
    assert t.port == 81
    assert _line_and_host(t)[0] == "POST / HTTP/1.1"


def test_parse_target_percent_encodes_path_and_query() -> None:
    t = parse_target("http://example.com/caf\u00e9 menu/a%20b?q=a b&u=\u00fc&k=v#fragment")
    assert t.ip is None
    assert _line_and_host(t) == (
        "POST /caf%C3%A9%20menu/a%20b?q=a%20b&u=%C3%BC&k=v HTTP/1.1",
        "example.com",
    )


@pytest.mark.parametrize(
    ("url", "line", "host", "port"),
    [
        ("http://Example.COM:80", "POST / HTTP/1.1", "example.com", 80),
        ("https://example.com:443/p", "POST /p HTTP/1.1", "example.com", 443),
        (
            "https://example.com:8443/p?a=1&b=2",
            "POST /p?a=1&b=2 HTTP/1.1",
            "example.com:8443",
            8443,
        ),
        ("http://example.com:443/", "POST / HTTP/1.1", "example.com:443", 443),
        ("http://b\u00fccher.example/", "POST / HTTP/1.1", "xn--bcher-kva.example", 80),
    ],
)
def test_parse_target_host_header(url: str, line: str, host: str, port: int) -> None:
    t = parse_target(url)
    assert _line_and_host(t) == (line, host)
    assert t.port == port


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "http:///no-host", "http://example.com:99999/", "example.com"]
)
def test_parse_target_refuses(url: str) -> None:
    with pytest.raises(RequestFailed, match=r"^invalid URL"):
        parse_target(url)


# --- HTTPS -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A throwaway CA and two server certificates signed by it."""

    ca: Path
    both: tuple[Path, Path]  # certificate and key for localhost and 127.0.0.1
    name_only: tuple[Path, Path]  # for localhost alone

    def server_context(self, which: tuple[Path, Path] | None = None) -> ssl.SSLContext:
        cert, key = which or self.both
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    out = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hookwise test CA")])
    unused = (
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "encipher_only",
        "decipher_only",
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                **dict.fromkeys(unused, False),
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    (out / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(name: str, sans: list[x509.GeneralName]) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        paths = (out / f"{name}.pem", out / f"{name}.key")
        paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[1].write_bytes(_pem_key(key))
        return paths

    localhost = x509.DNSName("localhost")
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    return Pki(out / "ca.pem", leaf("both", [localhost, loopback]), leaf("name", [localhost]))


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_https_with_a_trusted_ca(
    make_server: ServerFactory, make_client: ClientFactory, pki: Pki, host: str
) -> None:
    server = await make_server(
        answer(200, b"secure"), answer(200, b"again"), tls=pki.server_context()
    )
    client = make_client(ssl_context=pki.client_context())
    url = server.url("/tls", scheme="https", host=host)
    assert (await post(client, url)).body == b"secure"
    assert (await post(client, url)).body == b"again"
    assert len(server.conns) == 1  # TLS connections are pooled too
    assert server.requests[0].header("Host") == [f"{host}:{server.port}"]


async def test_https_untrusted_certificate(
    make_server: ServerFactory, make_client: ClientFactory, pki: Pki
) -> None:
    server = await make_server(answer(200), tls=pki.server_context())
    client = make_client()  # the system trust store does not know the test CA
    with pytest.raises(RequestFailed, match=r"^TLS certificate error: "):
        await post(client, server.url(scheme="https"))
    assert server.requests == []


async def test_https_verifies_the_name_in_the_url(
    make_server: ServerFactory, make_client: ClientFactory, pki: Pki
) -> None:
    """A certificate for ``localhost`` only: good by that name, refused for the bare address."""
    server = await make_server(answer(200, b"named"), tls=pki.server_context(pki.name_only))
    client = make_client(ssl_context=pki.client_context())
    assert (await post(client, server.url(scheme="https", host="localhost"))).body == b"named"
    with pytest.raises(RequestFailed, match=r"^TLS certificate error: .*mismatch"):
        await post(client, server.url(scheme="https"))
    assert len(server.requests) == 1


async def test_ca_bundle_file_or_folder_is_the_trust_store(
    make_server: ServerFactory, make_client: ClientFactory, pki: Pki, tmp_path: Path
) -> None:
    tls = pki.server_context()
    server = await make_server(answer(200, b"file"), answer(200, b"folder"), tls=tls)
    url = server.url(scheme="https", host="localhost")
    assert (await post(make_client(ssl_context=tls_context(str(pki.ca))), url)).body == b"file"
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "test-ca.pem").write_bytes(pki.ca.read_bytes())
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to hash the folder")
    subprocess.run(["openssl", "rehash", str(folder)], check=True, capture_output=True)
    assert (await post(make_client(ssl_context=tls_context(str(folder))), url)).body == b"folder"
    with pytest.raises(RequestFailed, match=r"^TLS certificate error: "):  # not the system's
        await post(make_client(ssl_context=tls_context(str(pki.both[0]))), url)


@pytest.mark.parametrize("content", [None, b"not a certificate"], ids=["missing", "garbage"])
def test_settings_refuse_a_ca_bundle_that_does_not_load(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "bundle.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValidationError, match="HOOKWISE_CA_BUNDLE"):
        Settings(ca_bundle=str(path))


# --- the sender --------------------------------------------------------------------------------

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
OLD_SECRET = "an older plain string secret"
BODY = b'{"type":"email.sent","data":{"to":"a@example.com"}}'


def claim(
    url: str,
    *,
    secrets: tuple[str, ...] = (SECRET,),
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> ClaimedDelivery:
    return ClaimedDelivery(
        delivery_id="dlv_1",
        app_id="app_1",
        message_id="msg_2bGxLr8Yk1",
        endpoint_id="ep_1",
        job_id=None,
        attempt_count=0,
        retry_base=0,
        trigger="scheduled",
        body=BODY,
        url=url,
        secrets=secrets,
        headers=headers or {},
        timeout_seconds=timeout,
        retry_schedule=(),
        rate_limit_per_second=None,
        msg_timestamp=int(time.time()),
    )


@pytest.fixture
async def sender() -> AsyncIterator[HttpSender]:
    s = HttpSender(LOOPBACK)
    await s.start()
    yield s
    await s.close()


async def test_sender_request_is_framed_and_signed(
    make_server: ServerFactory, sender: HttpSender
) -> None:
    server = await make_server(answer(200, b"thanks"))
    before = int(time.time())
    result = await sender.send(claim(server.url("/in?src=hw"), headers={"X-Tenant": "acme"}))
    after = int(time.time())
    assert result.succeeded
    assert (result.status_code, result.response_body, result.error) == (200, "thanks", None)
    assert result.retry_after is None

    (got,) = server.requests
    assert got.line == "POST /in?src=hw HTTP/1.1"
    assert got.body == BODY
    names = [k.lower() for k, _ in got.headers]
    assert len(names) == len(set(names)), got.headers  # no header sent twice
    assert got.header("Host") == [f"127.0.0.1:{server.port}"]
    assert got.header("User-Agent") == [USER_AGENT]
    assert got.header("Content-Type") == ["application/json"]
    assert got.header("Content-Length") == [str(len(BODY))]
    assert got.header("X-Tenant") == ["acme"]
    assert got.header("webhook-id") == ["msg_2bGxLr8Yk1"]
    (ts,) = got.header("webhook-timestamp")
    assert before <= int(ts) <= after
    expected_hex = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert got.header("X-Webhook-Signature") == [expected_hex]
    headers = {k.lower(): v for k, v in got.headers}
    assert Webhook(SECRET).verify(BODY, headers) is not None
    assert headers["webhook-signature"].startswith("v1,")


async def test_sender_signs_with_every_secret_during_a_rotation(
    make_server: ServerFactory, sender: HttpSender
) -> None:
    server = await make_server(answer(204))
    result = await sender.send(claim(server.url(), secrets=(SECRET, OLD_SECRET)))
    assert result.succeeded and result.status_code == 204 and result.response_body is None
    (got,) = server.requests
    headers = {k.lower(): v for k, v in got.headers}
    assert len(headers["webhook-signature"].split()) == 2
    Webhook(SECRET).verify(BODY, headers)
    Webhook(OLD_SECRET.encode()).verify(BODY, headers)
    key = SECRET.encode()  # the hex one uses the current secret, as shown
    assert headers["x-webhook-signature"] == "sha256=" + hmac.new(key, BODY, "sha256").hexdigest()


@pytest.mark.parametrize("name", ["User-Agent", "user-agent"])
async def test_sender_custom_user_agent_replaces_the_default(
    make_server: ServerFactory, sender: HttpSender, name: str
) -> None:
    server = await make_server(answer(200))
    await sender.send(claim(server.url(), headers={name: "acme-relay/2", "X-Other": "1"}))
    (got,) = server.requests
    assert got.header("User-Agent") == ["acme-relay/2"]
    assert got.header("X-Other") == ["1"]


async def test_sender_reuses_its_connection(make_server: ServerFactory, sender: HttpSender) -> None:
    server = await make_server(answer(200), answer(200))
    for _ in range(2):
        assert (await sender.send(claim(server.url()))).succeeded
    assert len(server.conns) == 1


@pytest.mark.parametrize(
    ("reply", "status", "error", "body", "retry_after"),
    [
        (
            answer(302, b"", ("Location: https://elsewhere.example/x",), "Found"),
            302,
            "redirect to https://elsewhere.example/x not followed",
            None,
            None,
        ),
        (answer(307, b"moved"), 307, "redirect to ? not followed", "moved", None),
        (answer(500, b"boom"), 500, "HTTP 500", "boom", None),
        (answer(429, b"", ("Retry-After: 30",)), 429, "HTTP 429", None, "30"),
        (answer(200, b"\xff\xfeok"), 200, None, "\ufffd\ufffdok", None),
    ],
    ids=["302", "307-no-location", "500", "429", "undecodable-body"],
)
async def test_sender_answers(
    make_server: ServerFactory,
    sender: HttpSender,
    reply: bytes,
    status: int,
    error: str | None,
    body: str | None,
    retry_after: str | None,
) -> None:
    server = await make_server(reply, answer(200))
    result = await sender.send(claim(server.url()))
    assert result.status_code == status
    assert result.error == error
    assert result.succeeded is (error is None)
    assert result.response_body == body
    assert result.retry_after == retry_after
    assert len(server.requests) == 1  # a redirect is not followed
    assert result.duration_ms >= 0


async def test_sender_refused_connection(sender: HttpSender) -> None:
    result = await sender.send(claim(f"http://127.0.0.1:{free_port()}/hook"))
    assert result.status_code is None
    assert result.error is not None and result.error.startswith("connection failed")
    assert not result.succeeded


async def test_sender_timeout(make_server: ServerFactory, sender: HttpSender) -> None:
    server = await make_server(Step())
    result = await sender.send(claim(server.url(), timeout=0.2))
    assert (result.status_code, result.error) == (None, "timed out after 0.2 s")
    await until(server.conns[0].ended)


async def test_sender_ssrf_guard_and_bad_url(make_server: ServerFactory) -> None:
    server = await make_server(answer(200))
    guarded = HttpSender(NetworkPolicy())
    await guarded.start()
    try:
        result = await guarded.send(claim(server.url()))
        assert result.error is not None and result.error.startswith("blocked by the SSRF guard")
        result = await guarded.send(claim("ftp://example.com/x"))
        assert result.error is not None and result.error.startswith("invalid URL")
    finally:
        await guarded.close()
    assert server.conns == []
