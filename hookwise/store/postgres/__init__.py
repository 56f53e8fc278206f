"""The cluster store: PostgreSQL as the durable queue and the source of truth.

Any number of ``hookwise api`` and ``hookwise worker`` processes share one database. Claims use
leases with ``FOR UPDATE SKIP LOCKED`` (see ``queue``), wake-ups use ``LISTEN/NOTIFY`` (see
``listener``), and every driver error becomes ``StoreUnavailable`` (see ``pool``).
"""

from __future__ import annotations

from hookwise.domain.secretbox import SecretBox
from hookwise.store.inspector import Inspector
from hookwise.store.jobs import Jobs
from hookwise.store.keyring_rows import Keyring
from hookwise.store.messages import Messages
from hookwise.store.operational import OperationalEvents
from hookwise.store.operations import Operations
from hookwise.store.postgres.enqueue import PostgresEnqueue
from hookwise.store.postgres.handle import PostgresHandle
from hookwise.store.postgres.listener import OPERATIONS_NOTIFY_SQL, Listener, Notifier
from hookwise.store.postgres.pool import Pools
from hookwise.store.postgres.queue import PostgresHotPath
from hookwise.store.postgres.vacuum import Vacuum
from hookwise.store.queue import SqlQueue
from hookwise.store.relays import Relays
from hookwise.store.resources import Resources
from hookwise.store.retention import Retention
from hookwise.store.sessions import Sessions


class PostgresStore:
    """The Store on PostgreSQL, through asyncpg: separate pools for claims and records."""

    def __init__(
        self, url: str, *, secret_box: SecretBox | None = None, pool_size: int = 10
    ) -> None:
        self.url = url
        self._db = Pools(url, max_size=pool_size)
        self._box = secret_box or SecretBox()
        self._listener = Listener(self._db.dsn)
        self._notifier = Notifier(self._db)
        self._handle = PostgresHandle(self._db, self._listener, self._notifier)
        self._operations_notifier = Notifier(self._db, OPERATIONS_NOTIFY_SQL)
        self.operations: Operations = Operations(
            self._handle, announce=self._operations_notifier.poke
        )
        self._listener.on_operation = self.operations.heard
        self.operational: OperationalEvents = OperationalEvents(self._handle)
        self.resources: Resources = Resources(
            self._handle, self._box, started=self.operations.started, told=self.operational
        )
        self.jobs: Jobs = Jobs(self._handle, self._box)
        self.vacuum = Vacuum(self._db)
        hot_path = PostgresHotPath(self._handle, self._box, self.operational, self.vacuum)
        self.queue = SqlQueue(self._handle, self._box, hot_path)
        self.retention: Retention = Retention(self._handle)
        self.keyring: Keyring = Keyring(self._handle)
        self.inspector: Inspector = Inspector(self._handle)
        self.relays: Relays = Relays(self._handle, self._box)
        self.sessions: Sessions = Sessions(self._handle)
        self.messages: Messages = Messages(self._handle, PostgresEnqueue(self._db))

    async def open(self) -> None:
        """Create the pools (the schema must be migrated already)."""
        await self._db.open()

    async def close(self) -> None:
        """Stop listening and close every connection."""
        await self.vacuum.close()
        await self._notifier.close()
        await self._operations_notifier.close()
        await self._listener.close()
        await self._db.close()

    async def ping(self) -> None:
        """Raise StoreUnavailable when the server does not answer."""
        await self._db.fetchval("SELECT 1")

    def _enc(self, secret: str) -> str:
        return self._box.encrypt(secret)

    def _dec(self, stored: str) -> str:
        return self._box.decrypt(stored)

    def _wake(self) -> None:
        # this process's waiters at once; other processes through NOTIFY on commit
        self._listener.wake()

    def _notify_soon(self) -> None:
        # other processes: a coalesced NOTIFY after the commit (see listener.Notifier)
        self._notifier.poke()


__all__ = ["PostgresStore"]
