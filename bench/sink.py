"""The loopback receiver every sender in the benchmark posts to.

A minimal uvloop ``asyncio.Protocol`` server that parses HTTP/1.1 with httptools (keep-alive,
pipelining, ``Content-Length`` bodies, which it skips) and answers ``200`` with an empty body.
It is as fast as a Python receiver gets, so it is never the limit of what it measures.

Behaviour is chosen by the request path, so one sink serves every scenario of a run:

- ``--dead-prefix`` (``/dead``): the request is counted but never answered (a dead endpoint;
  the sender's timeout fires).
- ``--fail-prefix`` (``/flaky``) with ``--fail-every N`` (5): every Nth request under the
  prefix is answered ``500`` (deterministic: exactly 1/N of the attempts fail).
- ``--record-prefix`` (``/rec`` and ``/flaky``, repeatable): the arrival time (epoch seconds),
  path, ``webhook-id`` header and answered status of every request are kept, so latencies and
  retry timing can be computed by the harness.

Control paths (never counted): ``GET /__stats`` (counts, per-path counts, first and last arrival),
``GET /__timeline`` (``[t, answered, ok]`` sampled every 5 ms), ``GET /__records?since=K``
(records from index K), ``GET /__reset`` (forget everything), ``GET /__health``.

Run ``python -m bench.sink --port 0``: it prints ``listening <port>`` once ready. ``--cpu N``
pins it to one CPU (the harness does not by default; see README).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import signal
import sys
import time
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httptools
import orjson
import uvloop

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
_FAIL = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
_SAMPLE_EVERY = 0.005
_RECORDS_PAGE = 200_000


class Sink:
    """Counters and configuration shared by every connection."""

    def __init__(
        self,
        *,
        dead_prefix: bytes,
        fail_prefix: bytes,
        fail_every: int,
        record_prefixes: tuple[bytes, ...],
    ) -> None:
        self.dead_prefix = dead_prefix
        self.fail_prefix = fail_prefix
        self.fail_every = fail_every
        self.record_prefixes = record_prefixes
        self.reset()

    def reset(self) -> None:
        """Forget every count and record."""
        self.answered = 0
        self.ok = 0
        self.failed = 0
        self.dead = 0
        self.flaky_seen = 0
        self.first = 0.0
        self.last = 0.0
        self.last_answered = 0.0
        self.by_path: dict[bytes, list[float]] = {}
        self.timeline: list[tuple[float, int, int]] = []
        self.next_sample = 0.0
        self.records: list[tuple[float, str, str | None, int]] = []
        self.reset_at = time.time()

    def arrive(self, path: bytes, webhook_id: bytes | None) -> bytes | None:
        """Count one request; return the response to send (None: never answer)."""
        now = time.time()
        if not self.first:
            self.first = now
        self.last = now
        entry = self.by_path.get(path)
        if entry is None:
            self.by_path[path] = [1.0, now, now]
        else:
            entry[0] += 1.0
            entry[2] = now
        response: bytes | None = _OK
        status = 200
        if self.dead_prefix and path.startswith(self.dead_prefix):
            self.dead += 1
            response, status = None, 0
        else:
            self.answered += 1
            self.last_answered = now
            if self.fail_prefix and path.startswith(self.fail_prefix):
                self.flaky_seen += 1
                if self.flaky_seen % self.fail_every == 0:
                    response, status = _FAIL, 500
            if status == 200:
                self.ok += 1
            else:
                self.failed += 1
            if now >= self.next_sample:
                self.timeline.append((now, self.answered, self.ok))
                self.next_sample = now + _SAMPLE_EVERY
        if self.record_prefixes and path.startswith(self.record_prefixes):
            wid = webhook_id.decode("latin-1") if webhook_id is not None else None
            self.records.append((now, path.decode("latin-1"), wid, status))
        return response

    def control(self, target: bytes) -> bytes:
        """Answer a ``/__…`` control request."""
        parts = urlsplit(target.decode("latin-1"))
        query = parse_qs(parts.query)
        body: Any
        if parts.path == "/__stats":
            body = self.stats()
        elif parts.path == "/__timeline":
            tail = (self.last_answered, self.answered, self.ok)
            body = [*self.timeline, tail] if self.answered else self.timeline
        elif parts.path == "/__records":
            since = int(query.get("since", ["0"])[0])
            page = self.records[since : since + _RECORDS_PAGE]
            body = {"since": since, "total": len(self.records), "records": page}
        elif parts.path == "/__reset":
            self.reset()
            body = {"reset": True}
        elif parts.path == "/__health":
            body = {"ok": True, "pid": os.getpid()}
        else:
            return _NOT_FOUND
        payload = orjson.dumps(body)
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(payload)).encode()
            + b"\r\n\r\n"
        )
        return head + payload

    def stats(self) -> dict[str, Any]:
        """Counts since the last reset."""
        return {
            "requests": self.answered + self.dead,
            "answered": self.answered,
            "ok": self.ok,
            "failed": self.failed,
            "dead": self.dead,
            "first": self.first,
            "last": self.last,
            "reset_at": self.reset_at,
            "records": len(self.records),
            "by_path": {
                p.decode("latin-1"): {"count": int(v[0]), "first": v[1], "last": v[2]}
                for p, v in self.by_path.items()
            },
        }


class Connection(asyncio.Protocol):
    """One client connection: parse requests, answer them in order."""

    __slots__ = ("dead", "parser", "sink", "transport", "url", "webhook_id")

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.webhook_id: bytes | None = None
        self.dead = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.dead:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.close()

    # httptools callbacks -------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.url = b""
        self.webhook_id = None

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) == 10 and name.lower() == b"webhook-id":
            self.webhook_id = value

    def on_message_complete(self) -> None:
        transport = self.transport
        if transport is None or self.dead:
            return
        url = self.url
        if url.startswith(b"/__"):
            transport.write(self.sink.control(url))
        else:
            q = url.find(b"?")
            response = self.sink.arrive(url if q < 0 else url[:q], self.webhook_id)
            if response is None:
                # A dead endpoint: hold the connection open and never answer.
                self.dead = True
                return
            transport.write(response)
        if not self.parser.should_keep_alive():
            transport.close()


async def serve(args: argparse.Namespace) -> None:
    """Listen until SIGINT/SIGTERM."""
    sink = Sink(
        dead_prefix=args.dead_prefix.encode(),
        fail_prefix=args.fail_prefix.encode(),
        fail_every=args.fail_every,
        record_prefixes=tuple(p.encode() for p in (args.record_prefix or ["/rec", "/flaky"])),
    )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Connection(sink), args.host, args.port, backlog=4096, reuse_address=True
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The sink's command line."""
    p = argparse.ArgumentParser(prog="python -m bench.sink", description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port (printed)")
    p.add_argument("--dead-prefix", default="/dead", help="never answer these paths")
    p.add_argument("--fail-prefix", default="/flaky", help="paths where some requests get 500")
    p.add_argument("--fail-every", type=int, default=5, help="every Nth flaky request gets 500")
    p.add_argument(
        "--record-prefix",
        action="append",
        help="record arrivals under this prefix (repeatable; default /rec and /flaky)",
    )
    p.add_argument("--cpu", type=int, default=None, help="pin the sink to this CPU")
    args = p.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        p.error("the sink binds to a loopback address only")
    if args.fail_every < 1:
        p.error("--fail-every must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m bench.sink``."""
    args = parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    uvloop.run(serve(args))


if __name__ == "__main__":
    main(sys.argv[1:])
