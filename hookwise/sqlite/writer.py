"""SQLite access for the async world: one writer thread with group commit, one reader thread.

Shared by the sender's store (``hookwise.store.sqlite``) and the receiver's SQLite inbox, so it
imports neither; ``error`` is the ``StoreUnavailable`` subclass each wants its failures as.

SQLite allows one writer at a time, so every write goes through a single dedicated thread that
owns the write connection. The thread takes every operation waiting in its queue (up to a
batch), runs them back to back in one ``BEGIN IMMEDIATE`` transaction and commits once: many
small writes share one fsync (group commit). Each operation still fails alone: when one raises,
the group is rolled back and run again with a SAVEPOINT around each operation. The waiting
event loop is woken once per group, not once per operation. Reads use their own connection on
a second thread; WAL lets them run beside the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from hookwise.domain.errors import StoreUnavailable

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]

_GROUP_MAX = 256
#: Each connection's page cache, in KiB: what the file may cost the process in memory (two
#: connections, twice this). The cache is the process's own heap and, on a large file, fills
#: to its bound; the writer's working set (the index pages near the due end of the queue)
#: fits in this one, and pages beyond it come back from the operating system's file cache.
#: Measured against a larger cache: bench/README.md, "Measurements behind design choices".
CACHE_KIB = 16384
_STOP = object()


def connect(path: str, *, synchronous: str = "FULL", busy: float = 30.0) -> sqlite3.Connection:
    """A connection with the settings hookwise relies on (WAL, busy timeout, autocommit)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    return conn


def path_from_url(url: str) -> str:
    """The file path of a ``sqlite:///path`` URL (``sqlite:////abs`` for absolute paths)."""
    if not url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {url}")
    return url[len("sqlite:///") :]


class SqliteFile:
    """The writer thread, the reader thread and their connections to the file at ``path``.

    ``make_dirs`` creates the file's directory first (the store does; an inbox whose directory
    is missing is a configuration error). ``busy`` is how long a write waits for another
    process's lock. Failures come out as ``error``.
    """

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "FULL",
        error: type[StoreUnavailable] = StoreUnavailable,
        make_dirs: bool = True,
        busy: float = 30.0,
    ) -> None:
        self.path = path
        self._synchronous = synchronous
        self._current_sync = synchronous
        self._error = error
        self._make_dirs = make_dirs
        self._busy = busy
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._read_conn: sqlite3.Connection | None = None

    @property
    def started(self) -> bool:
        """Whether ``start`` ran and ``stop`` has not."""
        return self._thread is not None

    def start(self) -> None:
        """Open the connections and start the writer thread."""
        if self._make_dirs:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conns: list[sqlite3.Connection] = []
        try:
            while len(conns) < 2:
                conns.append(connect(self.path, synchronous=self._synchronous, busy=self._busy))
        except sqlite3.Error as exc:
            for conn in conns:
                conn.close()
            raise self._error(f"cannot open SQLite file {self.path}: {exc}") from exc
        write_conn, self._read_conn = conns
        self._current_sync = self._synchronous
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hookwise-sqlite-r")
        self._thread = threading.Thread(
            target=self._writer_loop, args=(write_conn,), name="hookwise-sqlite-w", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Finish queued writes, then close everything."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None
        if self._reader is not None:
            self._reader.shutdown(wait=True)
            self._reader = None
        if self._read_conn is not None:
            self._read_conn.close()
            self._read_conn = None

    async def write(self, op: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """Run ``op`` in a transaction on the writer thread; its result once committed.

        ``durable=False`` (claims, attempt records, leases) lets the commit skip the fsync
        when nothing durable shares the group: such a write lost to a power cut only means a
        delivery is attempted again, which at-least-once allows. It still survives a crash of
        the process.
        """
        if self._thread is None:
            raise self._error(f"the SQLite file {self.path} is not open")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((op, fut, loop, durable))
        return await fut

    async def read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` on the reader connection."""
        conn, reader = self._read_conn, self._reader
        if conn is None or reader is None:
            raise self._error(f"the SQLite file {self.path} is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(reader, op, conn)
        except sqlite3.Error as exc:
            raise self._error(f"SQLite read failed: {exc}") from exc

    def _writer_loop(self, conn: sqlite3.Connection) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    return
                batch = [first]
                stop = False
                while len(batch) < _GROUP_MAX:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is _STOP:
                        stop = True
                        break
                    batch.append(item)
                self._run_group(conn, batch)
                if stop:
                    return
        finally:
            conn.close()

    def _run_group(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        sync = self._synchronous if any(item[3] for item in batch) else "NORMAL"
        try:
            if sync != self._current_sync:
                conn.execute(f"PRAGMA synchronous={sync}")
                self._current_sync = sync
            conn.execute("BEGIN IMMEDIATE")
            if len(batch) == 1:
                # alone in its transaction, an op needs no savepoint: if it fails, roll it all back
                outcomes = [_run_alone(conn, batch[0][0])]
            else:
                outcomes = _run_optimistic(conn, batch)
            if conn.in_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            err = self._error(f"SQLite write failed: {exc}")
            err.__cause__ = exc
            outcomes = [(False, err)] * len(batch)
        # one wake-up per event loop for the whole group, not one per operation
        settle: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (ok, value), (_op, fut, loop, _durable) in zip(outcomes, batch, strict=True):
            settle.setdefault(loop, []).append((fut, ok, value))
        for loop, items in settle.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                loop.call_soon_threadsafe(_settle_all, items)


def _run_optimistic(conn: sqlite3.Connection, batch: list[Any]) -> list[tuple[bool, Any]]:
    """Run the group's ops back to back; only if one fails, roll the group back and run them
    again each in its own savepoint, so that the failure is that op's alone.

    Two statements fewer per op on the common path, a measurable share of the writer's time
    per message (bench/README.md, "Measurements behind design choices"). Ops are functions of
    the connection alone, so running one again after a rollback is safe.
    """
    out = []
    for item in batch:
        try:
            out.append((True, item[0](conn)))
        except BaseException:
            conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")
            return [_run_in_savepoint(conn, it[0]) for it in batch]
    return out


def _run_alone(conn: sqlite3.Connection, op: Op) -> tuple[bool, Any]:
    try:
        return True, op(conn)
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return False, exc


def _run_in_savepoint(conn: sqlite3.Connection, op: Op) -> tuple[bool, Any]:
    conn.execute("SAVEPOINT op")
    try:
        result = op(conn)
    except BaseException as exc:  # the op fails alone; the group goes on
        conn.execute("ROLLBACK TO op")
        conn.execute("RELEASE op")
        return False, exc
    conn.execute("RELEASE op")
    return True, result


def _settle_all(items: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for fut, ok, value in items:
        if fut.done():
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)
