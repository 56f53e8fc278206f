"""Wake-ups within one process: workers waiting for work, woken all at once when some may be due.

Each database adds its own way of hearing other processes (PostgreSQL's ``LISTEN``); an embedded
store has no other process to hear.
"""

from __future__ import annotations

import asyncio


class Waiters:
    """The workers of this process waiting for work."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def wake(self) -> None:
        """Wake every waiter now."""
        waiters, self._waiters = self._waiters, set()
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Return at the next ``wake`` or after ``timeout`` seconds."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)
