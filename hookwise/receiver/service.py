"""``hookwise receive`` as a service: the ASGI adapter under uvicorn on one socket.

By default the same process runs the processor and reconciler (ACKs stay fast: handlers run
as background tasks or in threads). With ``process=False`` it only receives, and
``hookwise receive --worker`` processes, as many of them as needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
from types import TracebackType
from typing import TYPE_CHECKING

import uvicorn

from hookwise.domain.errors import CannotListen, HookwiseError
from hookwise.receiver.adapters.asgi import ASGIReceiver

if TYPE_CHECKING:
    from hookwise.receiver.receiver import Receiver

START_TIMEOUT = 30.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; ``port=0`` picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it a keep-alive response waits ~40 ms on delayed ACKs (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = "the port is in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise CannotListen(host, port, str(reason or exc)) from exc
    sock.set_inheritable(True)
    return sock


class ReceiverService:
    """An HTTP service for ``receiver`` (``async with ReceiverService(r, port=0) as svc``)."""

    def __init__(
        self,
        receiver: Receiver,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        process: bool = True,
        reconcile: bool = True,
        log_level: str = "warning",
    ) -> None:
        self.receiver = receiver
        self.host = host
        self.port = port
        self._app = ASGIReceiver(receiver, process=process, reconcile=reconcile)
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        """The base URL the service listens on."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        """Bind, start uvicorn, and return once the lifespan (inbox open) has completed."""
        self._sock = bind(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(
            self._app, lifespan="on", log_level=self._log_level, access_log=False
        )
        self._server = server = uvicorn.Server(config)
        self._task = task = asyncio.create_task(server.serve(sockets=[self._sock]))
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        while not server.started:
            if task.done():
                task.result()  # re-raise a crash
                raise HookwiseError("the receiver service did not start (see its log)")
            if asyncio.get_running_loop().time() > deadline:
                raise HookwiseError("the receiver service did not start in time")
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        """Stop accepting, finish in-flight requests and background work, close the inbox."""
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = self._sock = None

    async def wait(self) -> None:
        """Serve until uvicorn exits (on SIGINT or SIGTERM)."""
        if self._task is not None:
            await self._task

    async def __aenter__(self) -> ReceiverService:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set ``stop`` on SIGINT and SIGTERM (for processes that have no uvicorn to do it)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
