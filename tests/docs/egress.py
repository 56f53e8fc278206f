"""The docs test's egress proxy: the server under test sends every delivery through it
(``HOOKWISE_EGRESS_PROXY``), and it tunnels to loopback only. The samples may name
``example.com`` or a customer's URL as they would in real life; such a delivery is refused here
(an attempt that failed, ``403``), so a test never sends traffic off the machine."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.delivery.test_egress_proxy import _pipe

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class LoopbackProxy:
    """A CONNECT proxy on 127.0.0.1, run on its own thread, that refuses every other host."""

    def __init__(self) -> None:
        self.refused: list[str] = []  # the CONNECT targets it did not open
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n", 1)[0].decode("latin-1")
            method, target, _ = line.split(" ")
            host, _, port = target.rpartition(":")
            if method != "CONNECT" or host.strip("[]") not in LOOPBACK:
                self.refused.append(target)
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                return
            up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await asyncio.gather(_pipe(reader, up_writer, None), _pipe(up_reader, writer, None))
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


@contextmanager
def loopback_proxy() -> Iterator[LoopbackProxy]:
    """A running ``LoopbackProxy``, stopped on exit."""
    proxy = LoopbackProxy()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        server = await asyncio.start_server(proxy._handle, "127.0.0.1", 0)
        proxy.port = server.sockets[0].getsockname()[1]
        ready.set()
        await stop.wait()
        server.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield proxy
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
