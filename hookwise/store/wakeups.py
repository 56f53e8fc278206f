"""Wake-ups within one process: workers waiting for work, woken all at once when some may be due.

Each database adds its own way of hearing other processes (PostgreSQL's ``LISTEN``); an embedded
store has no other process to hear.

A wake-up that finds nobody waiting is kept for the next ``wait``, which then returns at once. A
worker is not waiting while it claims or asks when something is next due: work committed after
that look, whose wake-up came before the worker's wait began, would otherwise wait for the next
poll (up to ``poll_interval``, 1 s by default). One kept wake-up serves one waiter: with several
waiters in one process, one that was busy may still miss it, as before.
"""

from __future__ import annotations

import asyncio


class Waiters:
    """The workers of this process waiting for work."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self._missed = False  # a wake-up came while nobody waited

    def wake(self) -> None:
        """Wake every waiter now (or the next one, when nobody waits)."""
        waiters, self._waiters = self._waiters, set()
        self._missed = not waiters
        for w in waiters:
            if not w.done():
                w.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Return at the next ``wake`` (at once if one came while nobody waited) or after
        ``timeout`` seconds."""
        if self._missed:
            self._missed = False
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            pass
        finally:
            self._waiters.discard(fut)
