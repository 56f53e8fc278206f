"""The embedded store: one SQLite file in WAL mode."""

from __future__ import annotations

import asyncio
import logging

from hookwise.domain.errors import StoreUnavailable
from hookwise.domain.secretbox import SecretBox
from hookwise.sqlite.writer import SqliteFile, path_from_url
from hookwise.store.inspector import Inspector
from hookwise.store.jobs import Jobs
from hookwise.store.keyring_rows import Keyring
from hookwise.store.messages import Messages
from hookwise.store.operational import OperationalEvents
from hookwise.store.operations import Operations
from hookwise.store.queue import SqlQueue
from hookwise.store.relays import Relays
from hookwise.store.resources import Resources
from hookwise.store.retention import Retention
from hookwise.store.sessions import Sessions
from hookwise.store.sqlite.enqueue import SqliteEnqueue
from hookwise.store.sqlite.handle import SqliteHandle
from hookwise.store.sqlite.holders import Holder
from hookwise.store.sqlite.queue import SqliteHotPath

log = logging.getLogger("hookwise.store")


class SqliteStore:
    """The Store on one SQLite file; writes on one thread with group commit."""

    def __init__(
        self, url: str, *, secret_box: SecretBox | None = None, synchronous: str = "FULL"
    ) -> None:
        self.url = url
        self._db = SqliteFile(path_from_url(url), synchronous=synchronous)
        self._box = secret_box or SecretBox()
        self._handle = SqliteHandle(self._db)
        self.operations: Operations = Operations(self._handle)
        self.operational: OperationalEvents = OperationalEvents(self._handle)
        self.resources: Resources = Resources(
            self._handle, self._box, started=self.operations.started, told=self.operational
        )
        self.jobs: Jobs = Jobs(self._handle, self._box)
        self._holder = Holder(self._db.path)
        self._hot_path = SqliteHotPath(self._handle, self._box, self._holder, self.operational)
        self.queue = SqlQueue(self._handle, self._box, self._hot_path)
        self.retention: Retention = Retention(self._handle)
        self.keyring: Keyring = Keyring(self._handle)
        self.inspector: Inspector = Inspector(self._handle)
        self.relays: Relays = Relays(self._handle, self._box)
        self.sessions: Sessions = Sessions(self._handle)
        self.messages: Messages = Messages(self._handle, SqliteEnqueue(self._db))

    async def open(self) -> None:
        """Start the database threads (the schema must be migrated already), become a lease
        holder, and take back the leases of holders whose process is gone."""
        self._db.start()
        await asyncio.to_thread(self._holder.hold)
        for gone in await asyncio.to_thread(self._holder.gone):
            try:
                n = await self._hot_path.take_back_leases([gone.id])
                ops = await self.operations.take_back(gone.id)
            except BaseException:
                gone.keep()
                raise
            gone.forget()
            if n or ops:
                log.warning(
                    "took back %d deliveries and %d operations leased by %s (process gone)",
                    n, ops, gone.id,
                )  # fmt: skip

    async def close(self) -> None:
        """Take back this holder's leases still held (a give-back, a refused batch, a cancelled
        attempt: due now rather than after their expiry), finish queued writes, and close the
        file."""
        self._handle.wake()  # nobody waits for work on a closed store
        holder = self._holder.id
        taken_back = holder is None
        if holder is not None:
            try:
                n = await self._hot_path.take_back_leases([holder])
                taken_back = True
                if n:
                    log.info("gave back %d deliveries still leased on close", n)
            except Exception as exc:  # the file stays: the next start takes them back
                log.warning("could not give back the leases on close: %s", exc)
        await asyncio.to_thread(self._db.stop)
        self._holder.close(keep_file=not taken_back)

    async def ping(self) -> None:
        """Raise StoreUnavailable when the file cannot be read."""
        try:
            await self._db.read(lambda c: c.execute("SELECT 1").fetchone())
        except Exception as exc:
            raise StoreUnavailable(f"SQLite is unavailable: {exc}") from exc

    def _enc(self, secret: str) -> str:
        return self._box.encrypt(secret)

    def _dec(self, stored: str) -> str:
        return self._box.decrypt(stored)

    def _wake(self) -> None:
        self._handle.wake()


__all__ = ["SqliteStore"]
