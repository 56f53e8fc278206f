"""The SQLite writer's group commit: ops that share a transaction still fail alone."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hookwise.sqlite.writer import SqliteFile


async def test_a_failing_op_fails_alone_in_its_group(tmp_path: Path) -> None:
    db = SqliteFile(str(tmp_path / "g.db"))
    db.start()
    try:
        await db.write(lambda c: c.execute("CREATE TABLE t (k TEXT PRIMARY KEY)"))
        gate = threading.Event()
        runs: list[str] = []

        def blocker(c: sqlite3.Connection) -> None:
            gate.wait(5)  # holds the writer so the next ops queue up and share one group

        def insert(key: str, fail: bool = False) -> Callable[[sqlite3.Connection], str]:
            def op(c: sqlite3.Connection) -> str:
                runs.append(key)
                c.execute("INSERT INTO t VALUES (?)", (key,))
                if fail:
                    raise LookupError(f"{key} refused")
                return key

            return op

        first = asyncio.ensure_future(db.write(blocker))
        ops = [insert("a"), insert("b", fail=True), insert("c"), insert("a2")]
        pending = [asyncio.ensure_future(db.write(op)) for op in ops]
        await asyncio.sleep(0)  # let them queue (no condition to await: they are in the queue)
        gate.set()
        await first
        results = await asyncio.gather(*pending, return_exceptions=True)
        assert results[0] == "a" and results[2] == "c" and results[3] == "a2"
        assert isinstance(results[1], LookupError)
        keys = await db.read(lambda c: [r[0] for r in c.execute("SELECT k FROM t ORDER BY k")])
        assert keys == ["a", "a2", "c"]  # b rolled back alone; a, run twice, is there once
        assert runs.count("b") == 2  # the group ran again op by op after b failed
    finally:
        db.stop()


async def test_a_lone_failing_op_leaves_nothing(tmp_path: Path) -> None:
    db = SqliteFile(str(tmp_path / "g.db"))
    db.start()
    try:
        await db.write(lambda c: c.execute("CREATE TABLE t (k TEXT PRIMARY KEY)"))

        def op(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO t VALUES ('x')")
            raise LookupError("no")

        with pytest.raises(LookupError):
            await db.write(op)
        assert await db.read(lambda c: c.execute("SELECT count(*) FROM t").fetchone()[0]) == 0
    finally:
        db.stop()
