"""PostgreSQL chores for the cluster and backlog figures: databases, backlog seeding, probes.

Databases are created per measurement from a template (``CREATE DATABASE … TEMPLATE … STRATEGY
FILE_COPY``: a file copy, seconds even for a million rows) and dropped afterwards. Nothing here
knows hookwise's SQL: seeding clones rows hookwise itself wrote through its API, and claim
latency is read from ``pg_stat_activity`` (the duration of each statement that says
``SKIP LOCKED``), so the figures stay honest whatever the store's queries look like.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import Any

from bench import clone
from bench.registry import Unavailable

PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BENCH_PG_PORT", "5432"))
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
CLAIM_PATTERN = os.environ.get("BENCH_CLAIM_PATTERN", "%skip locked%")


def db_url(name: str) -> str:
    """The ``HOOKWISE_DB`` URL of database ``name``."""
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


async def connect(name: str = "postgres") -> Any:
    """An asyncpg connection to database ``name`` (``Unavailable`` if there is no server)."""
    try:
        import asyncpg
    except ImportError as exc:
        raise Unavailable("asyncpg is not installed") from exc
    try:
        return await asyncpg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, database=name, timeout=10
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise Unavailable(f"PostgreSQL at {PG_HOST}:{PG_PORT}: {exc}") from exc


async def create_db(name: str, template: str | None = None) -> None:
    """Create database ``name`` (empty, or a file copy of ``template``)."""
    conn = await connect()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template is None:
            await conn.execute(f'CREATE DATABASE "{name}"')
        else:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    finally:
        await conn.close()


async def drop_db(name: str) -> None:
    """Drop database ``name``, disconnecting anyone still on it."""
    conn = await connect()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def backends(name: str) -> int:
    """How many sessions are connected to database ``name``."""
    conn = await connect()
    try:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
        )
        return n
    finally:
        await conn.close()


async def backend_pids(name: str) -> list[int]:
    """The pids of the sessions on database ``name`` (autovacuum workers on it included)."""
    conn = await connect()
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
        return [int(r["pid"]) for r in rows]
    finally:
        await conn.close()


async def wait_backends(name: str, minimum: int, timeout: float, settle: float = 1.0) -> int:
    """Wait until at least ``minimum`` sessions are connected and the count holds ``settle`` s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        n = await backends(name)
        if n != last:
            last, since = n, time.monotonic()
        elif n >= minimum and time.monotonic() - since >= settle:
            return n
        await asyncio.sleep(0.2)
    return last


async def seed_backlog(name: str, message_id: str, rows: int) -> float:
    """Clone the message ``message_id`` and its delivery ``rows`` times; seconds taken.

    The clones are pending deliveries, due in the past in creation order, never leased.
    """
    at = f"{time.time() - 3600} + g * 1e-6"
    return await seed(
        name,
        [
            clone.Clone("messages", "id", clone.message_overrides(clone.PG, at)),
            clone.Clone(
                "deliveries", "message_id", clone.delivery_overrides(clone.PG, "pending", at)
            ),
        ],
        message_id,
        rows,
    )


async def seed(name: str, clones: list[clone.Clone], key: str, rows: int) -> float:
    """Run ``clones`` (``bench.clone``) ``rows`` times each in database ``name``, in one
    transaction, then analyze and checkpoint; seconds taken."""
    conn = await connect(name)
    try:
        start = time.perf_counter()
        async with conn.transaction():
            for c in clones:
                cols = await columns(conn, c.table)
                if not cols:
                    raise Unavailable(f"no {c.table} table to seed into")
                await conn.execute(clone.clone_sql(clone.PG, c, cols), key, rows)
        for table in sorted({c.table for c in clones}):
            await conn.execute(f'ANALYZE "{table}"')
        await conn.execute("CHECKPOINT")
        return time.perf_counter() - start
    finally:
        await conn.close()


async def columns(conn: Any, table: str) -> list[str]:
    """The columns of ``table``, in order (empty when there is no such table)."""
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [r["column_name"] for r in rows]


@dataclass
class ClaimSampler:
    """Samples the duration of claim statements (``SKIP LOCKED``) from ``pg_stat_activity``.

    A session that finished a statement shows it with ``state_change - query_start`` = its
    exact duration. A statement still running is remembered with how long it has run so far;
    if it is never seen finished (the session went straight on to another statement), that
    lower bound is kept. Polling every ``interval`` seconds catches most claims. A claim may
    take several statements (lock the endpoints, then the deliveries): samples are kept per
    statement text, and ``claim_ms`` adds up the median of each. ``DELETE`` statements
    (pruning) are left out.
    """

    db: str
    interval: float = 0.02
    # statement text -> [(ended_at, seconds)]
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    _done: set[tuple[int, float]] = field(default_factory=set)
    _running: dict[tuple[int, float], tuple[str, float, float]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def _add(self, query: str, ended: float, seconds: float) -> None:
        self.samples.setdefault(query, []).append((ended, max(0.0, seconds)))

    async def _run(self) -> None:
        conn = await connect(self.db)
        try:
            while True:
                rows = await conn.fetch(
                    "SELECT pid, query, state, extract(epoch FROM query_start)::float8 AS qs, "
                    "extract(epoch FROM state_change)::float8 AS sc, "
                    "extract(epoch FROM clock_timestamp())::float8 AS now "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND query ILIKE $1 AND ltrim(query, E' \\n\\t(') NOT ILIKE 'delete%'",
                    CLAIM_PATTERN,
                )
                self._observe(rows)
                await asyncio.sleep(self.interval)
        finally:
            await conn.close()

    def _observe(self, rows: list[Any]) -> None:
        current: set[tuple[int, float]] = set()
        for r in rows:
            key = (r["pid"], r["qs"])
            if r["qs"] is None or key in self._done:
                continue
            if r["state"] == "active":
                current.add(key)
                self._running[key] = (r["query"], r["now"], r["now"] - r["qs"])
            elif r["sc"] is not None:
                self._done.add(key)
                self._running.pop(key, None)
                self._add(r["query"], r["sc"], r["sc"] - r["qs"])
        # A running statement of a session now doing something else has ended unseen.
        for key in [k for k in self._running if k not in current]:
            query, seen_at, lower_bound = self._running.pop(key)
            self._done.add(key)
            self._add(query, seen_at, lower_bound)

    def count(self) -> int:
        """How many statements were sampled."""
        return sum(len(v) for v in self.samples.values())

    def claim_ms(self, since: float, until: float) -> float:
        """Median claim time (ms) of the statements that ended in ``[since, until)``.

        The sum over statement texts of each one's median: a claim runs each once.
        """
        total, found = 0.0, False
        for samples in self.samples.values():
            window = sorted(d for end, d in samples if since <= end < until)
            if window:
                found = True
                total += window[len(window) // 2] * 1000
        return total if found else float("nan")

    def start(self) -> None:
        """Start sampling in the background."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop sampling."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                pass
