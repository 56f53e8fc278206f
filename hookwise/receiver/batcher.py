"""Group commit: concurrent requests' inserts written by one transaction.

Each request's ACK waits for its insert to be durable. One commit at a time is in flight; the
inserts that arrive meanwhile wait and go together in the next one, so the number of commits
(and fsyncs) per second stays small however many requests come, and a request waits at most
about two commits. Both inboxes use it: the commit is the expensive part on either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

V = TypeVar("V")
R = TypeVar("R")

MAX_BATCH = 500


class Batcher(Generic[V, R]):
    """Calls ``flush(items) -> results`` (same order) for whatever has been submitted."""

    def __init__(
        self, flush: Callable[[list[V]], Awaitable[list[R]]], *, max_batch: int = MAX_BATCH
    ) -> None:
        self._flush = flush
        self._max_batch = max_batch
        self._pending: list[tuple[V, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: V) -> R:
        """Write ``item`` with the next batch and return its result (or raise its error)."""
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        while self._pending:
            group = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            try:
                results = await self._flush([item for item, _ in group])
            except Exception as exc:  # every waiter of the batch gets the error
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            except BaseException:  # cancelled (shutdown): nobody is left waiting forever
                for _, fut in group + self._pending:
                    fut.cancel()
                raise
            for (_, fut), result in zip(group, results, strict=True):
                if not fut.done():
                    fut.set_result(result)
