"""The PostgreSQL store's background tasks (the listener, the coalesced NOTIFYs, the vacuum):
stopping one."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any) and wait for it to end; whatever it ended with was its own to
    log, a store that closes has nobody to tell."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
