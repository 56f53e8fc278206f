"""PostgreSQL connections: three asyncpg pools and the one error boundary.

Claims, records and everything else (API reads and writes, cold paths) each get their own pool,
so a claim never queues behind a batch of records or a slow API query, and an API process that
never claims opens no claim connection (the claim and record pools start empty).

Every driver error leaves this module as ``StoreUnavailable`` (``raise … from exc``): the API
answers 503 in the error shape and workers back off and try again. The one exception is text
PostgreSQL refuses to store (NUL, outside the encoding, too long): that is ``InvalidInput``
(422), since retrying cannot help. A lost connection also
expires the pool's other idle connections, so after a server restart each pool reconnects on
its next use instead of failing once per stale connection.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import asyncpg

from hookwise.domain.errors import HookwiseError, InvalidInput, StoreUnavailable

log = logging.getLogger("hookwise.store.postgres")

Pool = Any  # asyncpg.Pool (the driver ships no type information)
Connection = Any  # asyncpg.Connection
Record = Any  # asyncpg.Record: read by column name, like a Mapping

DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    OSError,
    TimeoutError,
)
# the connection, not the statement, failed: whether the server committed is unknown
LINK_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.InterfaceError,
    OSError,
)
_TRANSIENT: tuple[type[BaseException], ...] = (
    *LINK_ERRORS,
    TimeoutError,
    asyncpg.exceptions.TransactionRollbackError,  # deadlock, serialization failure
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.QueryCanceledError,  # statement timeout
)
# Text the server refuses to store: NUL or characters outside the encoding, or too long for its
# column. Other data errors (asyncpg's own encoding errors among them) are bugs: unavailable.
_REFUSED_VALUES: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.CharacterNotInRepertoireError,  # 22021
    asyncpg.exceptions.UntranslatableCharacterError,  # 22P05
    asyncpg.exceptions.StringDataRightTruncationError,  # 22001
)
# random_page_cost 1.1 (the default 4 models spinning disks): the hot statements join a
# batch of ~64-200 keys to ``deliveries``; at 4 the planner hashed the whole table for a few
# thousand rows where primary-key lookups are twice as fast (bench/README.md has the figures).
_SETTINGS = {"application_name": "hookwise", "jit": "off", "random_page_cost": "1.1"}
# The claim and record pools run only the hot path's statements, planned without bitmap scans.
# A bitmap heap scan visits every heap page its index entries point to, the entries of dead
# row versions too, and never marks those dead; an index scan marks each dead entry it meets
# once (``kill_prior_tuple``), and later scans skip it without a heap visit. Each claim and
# record leaves dead versions until VACUUM comes, so the claim's count of an endpoint's leases
# (``ix_deliveries_leased``) read ~750 heap pages for a dozen live leases after a few
# thousand deliveries (bench/README.md has the figures).
_HOT_PATH = {**_SETTINGS, "enable_bitmapscan": "off"}
# A claim alone need not wait for its commit to reach the disk: a claim lost with the server
# (its crash) is a lease that never was, the delivery is claimed and sent again (at least
# once; until then its endpoint may see more than ``max_in_flight``), and a record is durable
# (it waits for the WAL up to its own commit, the claim's included).
_CLAIMS = {**_HOT_PATH, "synchronous_commit": "off"}


def dsn_of(url: str) -> str:
    """The asyncpg DSN of a hookwise ``postgresql://`` (or ``postgres://``) URL."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if not url.startswith("postgresql://"):
        raise ValueError(f"not a PostgreSQL URL: {url}")
    return url


def unavailable(exc: BaseException) -> StoreUnavailable:
    """The StoreUnavailable a driver error becomes (logged loudly when it looks like a bug)."""
    if not isinstance(exc, _TRANSIENT):
        log.error("PostgreSQL error", exc_info=exc)
    detail = str(exc) or type(exc).__name__
    return StoreUnavailable(
        f"PostgreSQL is unavailable: {detail}", details={"error": type(exc).__name__}
    )


class Pools:
    """The pools of one PostgresStore."""

    def __init__(
        self,
        url: str,
        *,
        max_size: int = 10,
        claim_size: int = 2,
        record_size: int = 4,
        command_timeout: float = 60.0,
    ) -> None:
        self.dsn = dsn_of(url)
        self._sizes = (max_size, claim_size, record_size)
        self._command_timeout = command_timeout
        self._pool: Pool | None = None
        self._claims: Pool | None = None
        self._records: Pool | None = None

    async def open(self) -> None:
        """Create the pools and check the server answers (to fail early when unreachable).

        Pools start empty and grow on demand: asyncpg keeps no floor of connections to
        restore in the background (which only adds noise while the server is away).
        """
        max_size, claim_size, record_size = self._sizes
        try:
            self._pool = await self._create(max_size, _SETTINGS)
            self._claims = await self._create(claim_size, _CLAIMS)
            self._records = await self._create(record_size, _HOT_PATH)
        except DRIVER_ERRORS as exc:
            await self.close()
            raise unavailable(exc) from exc
        try:
            await self.fetchval("SELECT 1")
        except StoreUnavailable:
            await self.close()
            raise

    async def _create(self, max_size: int, settings: dict[str, str]) -> Pool:
        return await asyncpg.create_pool(
            self.dsn,
            min_size=0,
            max_size=max_size,
            timeout=5,  # to connect
            command_timeout=self._command_timeout,
            max_inactive_connection_lifetime=300,
            server_settings=settings,
            reset=_no_session_state,
        )

    async def close(self) -> None:
        """Close every pool (connections still busy after 10 s are terminated)."""
        pools = [p for p in (self._pool, self._claims, self._records) if p is not None]
        self._pool = self._claims = self._records = None
        for p in pools:
            try:
                await p.close()
            except Exception:  # closing a pool of dead connections: drop them
                p.terminate()

    def _pick(self, which: str) -> Pool:
        pool = {"main": self._pool, "claim": self._claims, "record": self._records}[which]
        if pool is None:
            raise StoreUnavailable("the PostgreSQL store is not open")
        return pool

    @contextlib.asynccontextmanager
    async def connection(self, which: str = "main") -> AsyncIterator[Connection]:
        """A pooled connection (``main``, ``claim`` or ``record``); driver errors are wrapped."""
        pool = self._pick(which)
        try:
            async with pool.acquire(timeout=30) as conn:
                yield conn
        except HookwiseError:
            raise
        except _REFUSED_VALUES as exc:
            # text PostgreSQL refuses (the API refuses what it knows of first): the caller's
            # input, not the database's health; answered 422, never retried as if unavailable
            log.warning("PostgreSQL refused a value: %s", exc)
            raise InvalidInput("value", "holds text the database cannot store") from exc
        except DRIVER_ERRORS as exc:
            if isinstance(exc, LINK_ERRORS):
                with contextlib.suppress(Exception):
                    await pool.expire_connections()
            raise unavailable(exc) from exc

    @contextlib.asynccontextmanager
    async def transaction(self, which: str = "main") -> AsyncIterator[Connection]:
        """A connection inside a transaction, committed when the block ends without error."""
        async with self.connection(which) as conn, conn.transaction():
            yield conn

    async def fetch(self, sql: str, *args: Any, which: str = "main") -> list[Record]:
        """All rows of one statement."""
        async with self.connection(which) as conn:
            return cast(list[Record], await conn.fetch(sql, *args))

    async def fetchrow(self, sql: str, *args: Any, which: str = "main") -> Record | None:
        """The first row of one statement, or None."""
        async with self.connection(which) as conn:
            return await conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any, which: str = "main") -> Any:
        """The first column of the first row."""
        async with self.connection(which) as conn:
            return await conn.fetchval(sql, *args)

    async def execute(self, sql: str, *args: Any, which: str = "main") -> int:
        """Run one statement; the number of rows it touched."""
        async with self.connection(which) as conn:
            return affected(await conn.execute(sql, *args))


async def _no_session_state(conn: Connection) -> None:
    """What a connection going back to its pool needs beyond asyncpg's own rollback of an
    unfinished transaction: nothing. hookwise never leaves session state on a pooled connection
    (no ``SET``, ``LISTEN``, cursors or advisory locks; the listener has a connection of its own),
    so asyncpg's default reset statement (``RESET ALL``, ``UNLISTEN *``, …), one more round trip
    on every claim and record, is skipped."""


def affected(status: str) -> int:
    """The row count of a command status such as ``UPDATE 3`` (0 when it has none)."""
    tail = status.rpartition(" ")[2]
    return int(tail) if tail.isdigit() else 0


def column(rows: Sequence[Record], name: str) -> list[Any]:
    """One column of fetched rows."""
    return [r[name] for r in rows]
