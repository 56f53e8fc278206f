"""The shared SQLite writer: the store's and the receiver's inbox's, each with its own error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hookwise.domain.errors import StoreUnavailable
from hookwise.receiver.errors import InboxUnavailable
from hookwise.sqlite.writer import SqliteFile


def _rows(db: sqlite3.Connection) -> list[sqlite3.Row]:
    return db.execute("SELECT k FROM t ORDER BY k").fetchall()


async def test_failures_come_out_as_the_owners_error(tmp_path: Path) -> None:
    db = SqliteFile(str(tmp_path / "w.db"), error=InboxUnavailable)
    with pytest.raises(InboxUnavailable, match="not open"):
        await db.read(_rows)
    db.start()
    try:
        with pytest.raises(InboxUnavailable, match="read failed"):
            await db.read(_rows)  # no such table
    finally:
        db.stop()
    with pytest.raises(InboxUnavailable, match="not open"):
        await db.write(lambda c: c.execute("CREATE TABLE t (k TEXT)"))


async def test_a_store_read_that_fails_raises_store_unavailable(tmp_path: Path) -> None:
    db = SqliteFile(str(tmp_path / "s.db"))
    db.start()
    try:
        with pytest.raises(StoreUnavailable):
            await db.read(_rows)
    finally:
        db.stop()


async def test_it_starts_again_after_stop(tmp_path: Path) -> None:
    db = SqliteFile(str(tmp_path / "r.db"))
    db.start()
    await db.write(lambda c: c.execute("CREATE TABLE t (k TEXT)"))
    db.stop()
    assert not db.started
    db.start()
    try:
        await db.write(lambda c: c.execute("INSERT INTO t VALUES ('a')"), durable=False)
        assert [r["k"] for r in await db.read(_rows)] == ["a"]
    finally:
        db.stop()


def test_a_missing_directory_is_made_only_when_asked(tmp_path: Path) -> None:
    inbox = SqliteFile(str(tmp_path / "no" / "inbox.db"), error=InboxUnavailable, make_dirs=False)
    with pytest.raises(InboxUnavailable, match="cannot open"):
        inbox.start()
    assert not (tmp_path / "no").exists() and not inbox.started
    store = SqliteFile(str(tmp_path / "made" / "store.db"))
    store.start()
    store.stop()
    assert (tmp_path / "made" / "store.db").exists()


async def test_its_page_caches_stay_within_the_memory_bound(tmp_path: Path) -> None:
    # Issue 19: serve must stay <= 250 MB with a 1,000,000-row backlog. The page caches are
    # heap that fills to its bound on a large file; the rest of the process takes ~110 MB.
    db = SqliteFile(str(tmp_path / "m.db"))
    db.start()
    try:
        sizes = [
            await db.write(lambda c: c.execute("PRAGMA cache_size").fetchone()[0]),
            await db.read(lambda c: c.execute("PRAGMA cache_size").fetchone()[0]),
        ]
    finally:
        db.stop()
    kib = [-n if n < 0 else n * 4 for n in sizes]  # negative: KiB; positive: 4 KiB pages
    assert sum(kib) <= 32 * 1024
