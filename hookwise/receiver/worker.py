"""Background work of a receiver: the processor and the reconciler, started and stopped together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from hookwise.receiver.processor import Processor
from hookwise.receiver.reconciler import Reconciler

if TYPE_CHECKING:
    from hookwise.receiver.receiver import Receiver


@asynccontextmanager
async def background(
    receiver: Receiver,
    *,
    process: bool = True,
    reconcile: bool = True,
    processor: Processor | None = None,
    reconciler: Reconciler | None = None,
) -> AsyncIterator[None]:
    """Open ``receiver`` and run its processor and reconciler until the block exits."""
    await receiver.open()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    if process:
        tasks.append(asyncio.create_task((processor or Processor(receiver)).run(stop)))
    if reconcile:
        tasks.append(asyncio.create_task((reconciler or Reconciler(receiver)).run(stop)))
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.gather(*tasks)
        finally:
            await receiver.close()


async def work(
    receiver: Receiver, stop: asyncio.Event, *, processor: Processor | None = None
) -> None:
    """Process and reconcile until ``stop`` is set (``hookwise receive --worker``)."""
    async with background(receiver, processor=processor):
        await stop.wait()
