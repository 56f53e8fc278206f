"""A receiver for sync code (Flask, Django): an event loop in a thread does the async work.

The inbox drivers are async and bound to one loop, so every call of a ``SyncReceiver`` runs on
its own loop thread, started on first use; with ``process=True`` that loop also runs the
processor and reconciler, so a plain WSGI app processes its webhooks without another command.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from hookwise.receiver.reply import Reply
from hookwise.receiver.verify import HeaderItems

if TYPE_CHECKING:
    from hookwise.receiver.receiver import Receiver

T = TypeVar("T")


class SyncReceiver:
    """Blocking access to a ``Receiver`` from threads that have no event loop."""

    def __init__(self, receiver: Receiver, *, process: bool = True, reconcile: bool = True) -> None:
        self.receiver = receiver
        self.process = process
        self.reconcile = reconcile
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._stopped: Future[None] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.receiver!r})"

    def start(self) -> None:
        """Start the loop thread and open the receiver (done lazily by the first call)."""
        with self._lock:
            if self._loop is not None:
                return
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="hookwise-receiver", daemon=True
            )
            thread.start()
            ready: Future[None] = Future()
            self._stopped = asyncio.run_coroutine_threadsafe(self._main(ready), loop)
            try:
                ready.result()
            except BaseException:
                loop.call_soon_threadsafe(loop.stop)
                thread.join()
                loop.close()
                raise
            self._loop, self._thread = loop, thread

    async def _main(self, ready: Future[None]) -> None:
        self._stop = asyncio.Event()
        try:
            async with self.receiver.running(process=self.process, reconcile=self.reconcile):
                ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
                return
            raise

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run ``coro`` (e.g. ``receiver.expect(...)``) on the receiver's loop; return its value."""
        self.start()
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def handle(self, body: bytes, headers: HeaderItems) -> Reply:
        """``Receiver.handle`` for sync code."""
        return self.call(self.receiver.handle(body, headers))

    def close(self) -> None:
        """Stop background work, close the receiver, and end the loop thread."""
        with self._lock:
            loop, thread, self._loop, self._thread = self._loop, self._thread, None, None
            if loop is None or thread is None:
                return
            stop = self._stop
            if stop is not None:
                loop.call_soon_threadsafe(stop.set)
            if self._stopped is not None:
                self._stopped.result(timeout=60)
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()
