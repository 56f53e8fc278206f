"""The asyncio helpers of the worker's loops: waiting on several things, background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging

log = logging.getLogger("hookwise.worker")


def log_failure(task: asyncio.Task[None], what: str) -> None:
    """Log the exception a background task ended with (nobody awaits it to see it)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("%s task failed", what, exc_info=task.exception())


async def wait_or(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def first_of(*aws: object) -> None:
    """Wait until the first of ``aws`` is done, then cancel the others."""
    tasks = [asyncio.ensure_future(a) for a in aws]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
