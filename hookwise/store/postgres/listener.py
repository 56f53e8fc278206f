"""Wake-ups: ``NOTIFY`` when work becomes due, ``LISTEN`` on one connection that reconnects.

Whatever makes work due (a resume, a resend, a release, a retry due at once) runs
``pg_notify(CHANNEL, '')`` in its own transaction, so the notification goes out on commit and
only then. Enqueues, the one frequent case, do not: a transaction that notifies takes a
cluster-wide lock while it commits, which would put every accepted message in one line. Each
process instead sends a coalesced ``NOTIFY`` after its enqueues commit (``Notifier``): one in
flight at a time, and one more if anything committed meanwhile, so every enqueue is followed by
a notification without the API paying for one each.

Every listening process wakes its idle workers; they claim, and the claim decides who gets what.
A notification is a hint, never a promise: the workers also poll slowly, so a lost notification
(the listener was reconnecting) costs at most one poll interval, and each reconnect wakes
everyone once in case something arrived while it was away. The listener starts on the first
``wait``: an API-only process never opens the connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from hookwise.domain.errors import StoreUnavailable
from hookwise.store.postgres.pool import DRIVER_ERRORS, Pools
from hookwise.store.postgres.tasks import cancel
from hookwise.store.wakeups import Waiters

log = logging.getLogger("hookwise.store.postgres")

CHANNEL = "hookwise_work"
NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', '')"
#: A bulk operation was started (``store.operations``): the steppers of other processes take
#: it up now rather than at their next poll.
OPERATIONS_CHANNEL = "hookwise_operations"
OPERATIONS_NOTIFY_SQL = f"SELECT pg_notify('{OPERATIONS_CHANNEL}', '')"
_KEEPALIVE = 15.0


class Listener:
    """Local waiters plus the LISTEN connection that wakes them."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._waiters = Waiters()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.connected = asyncio.Event()
        self.notifications = 0
        #: Called when another process started a bulk operation (and on each reconnect).
        self.on_operation: Callable[[], None] = lambda: None

    def wake(self) -> None:
        """Wake every waiter of this process now."""
        self._waiters.wake()

    async def wait(self, timeout: float) -> None:
        """Return at the next wake-up or after ``timeout`` seconds."""
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._listen(), name="hookwise-pg-listener")
        await self._waiters.wait(timeout)

    async def close(self) -> None:
        """Stop listening and release every waiter."""
        self._closed = True
        self.wake()
        await cancel(self._task)
        self._task = None

    def _on_notify(self, *_: Any) -> None:
        self.notifications += 1
        self.wake()

    def _on_operation(self, *_: Any) -> None:
        self.on_operation()

    async def _listen(self) -> None:
        backoff = 0.2
        while not self._closed:
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=5, server_settings={"application_name": "hookwise-listen"}
                )
            except DRIVER_ERRORS as exc:
                log.debug("listener cannot connect (retrying in %.1fs): %s", backoff, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.2
            try:
                await self._serve(conn)
            except DRIVER_ERRORS as exc:
                log.info("listener connection lost, reconnecting: %s", exc)
            finally:
                self.connected.clear()
                conn.terminate()

    async def _serve(self, conn: Any) -> None:
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        await conn.add_listener(OPERATIONS_CHANNEL, self._on_operation)
        self.connected.set()
        self.wake()  # anything that became due while we were not listening
        self.on_operation()  # or started
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), _KEEPALIVE)
            except TimeoutError:
                await conn.execute("SELECT 1", timeout=5)  # a silent network loss shows here


class Notifier:
    """Coalesced NOTIFYs for work committed by this process (enqueues; with
    ``OPERATIONS_NOTIFY_SQL``, bulk operations started)."""

    def __init__(self, db: Pools, sql: str = NOTIFY_SQL) -> None:
        self._db = db
        self._sql = sql
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def poke(self) -> None:
        """Something committed: make sure a NOTIFY goes out after it."""
        if self._task is not None and not self._task.done():
            self._again = True  # the one in flight may have started before our commit
            return
        self._task = asyncio.get_running_loop().create_task(self._send(), name="hookwise-notify")

    async def _send(self) -> None:
        while True:
            self._again = False
            try:
                await self._db.execute(self._sql)
            except StoreUnavailable as exc:  # workers poll; the listener wakes them on reconnect
                log.debug("could not notify: %s", exc)
            if not self._again:
                return

    async def close(self) -> None:
        """Stop (a pending NOTIFY is dropped)."""
        await cancel(self._task)
        self._task = None
