"""Lease holders of a SQLite file (``hookwise/store/sqlite/holders.py``), the leases a closing
store gives back, and a store that fails to open leaving nothing behind (both backends)."""

from __future__ import annotations

import fcntl
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from hookwise.store import Store, open_store
from hookwise.store.sqlite import SqliteStore, holders
from tests.store.test_contract import _app_with_endpoint, _send


class Injected(RuntimeError):
    """The failure the tests inject."""


def _lock_files(db_file: Path) -> list[str]:
    """The holders' files beside ``db_file``, and any being made one."""
    return sorted(p.name for p in db_file.parent.glob(f"{db_file.name}-*holder-*"))


def _lease_of(db_file: Path, delivery_id: str) -> tuple[str | None, float]:
    with sqlite3.connect(db_file) as conn:
        owner, at = conn.execute(
            "SELECT lease_owner, next_attempt_at FROM deliveries WHERE id = ?", (delivery_id,)
        ).fetchone()
    return owner, float(at)


def test_a_starting_holder_never_looks_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second store starting while the first creates its file (between its creation and its
    lock) does not take the new holder for gone: the first holds its file, nothing crashes."""
    db = str(tmp_path / "race.db")
    other = holders.Holder(db)
    other.hold()
    real = fcntl  # what holders uses, and the patch below replaces
    seen: list[list[holders.GoneHolder]] = []

    class Racing:
        """fcntl, except that the first lock taken lets ``other`` scan for gone holders first."""

        LOCK_EX, LOCK_NB = real.LOCK_EX, real.LOCK_NB

        @staticmethod
        def flock(fd: int, op: int) -> None:
            if not seen:
                seen.append([])
                seen[0] = other.gone()
                for g in seen[0]:
                    g.forget()  # what a starting store does once it took its leases back
            real.flock(fd, op)

    monkeypatch.setattr(holders, "fcntl", Racing)
    first = holders.Holder(db)
    try:
        first.hold()
        assert seen == [[]]  # the scan saw no holder gone
        assert first.id is not None
        monkeypatch.setattr(holders, "fcntl", real)
        assert other.gone() == []  # the new holder's file exists and is locked
        assert _lock_files(tmp_path / "race.db") == sorted(
            f"race.db-holder-{h.id}.lock" for h in (first, other)
        )
    finally:
        first.close()
        other.close()
    assert _lock_files(tmp_path / "race.db") == []


async def test_a_closing_store_gives_back_its_leases(tmp_path: Path) -> None:
    """Leases this process still holds when its store closes (a give-back, a refused batch, a
    cancelled attempt) are due at once, not after their expiry; another live store's leases
    are left alone."""
    db_file = tmp_path / "close.db"
    db = f"sqlite:///{db_file}"
    closing, live = await open_store(db), await open_store(db)
    try:
        app_id, _ = await _app_with_endpoint(live)
        await _send(live, app_id, 4)
        mine = await closing.queue.claim_due(
            worker_id=f"{closing.queue.lease_holder}:0",
            limit=2,
            lease_seconds=300,
        )
        theirs = await live.queue.claim_due(
            worker_id=f"{live.queue.lease_holder}:0",
            limit=2,
            lease_seconds=300,
        )
        assert (len(mine), len(theirs)) == (2, 2)
        await closing.close()
        for c in mine:
            owner, at = _lease_of(db_file, c.delivery_id)
            assert owner is None
            assert at <= time.time()
        for c in theirs:
            assert _lease_of(db_file, c.delivery_id)[0] is not None
        again = await live.queue.claim_due(worker_id="w", limit=4, lease_seconds=300)
        assert {c.delivery_id for c in again} == {c.delivery_id for c in mine}
        kept = f"close.db-holder-{live.queue.lease_holder}.lock"
        assert _lock_files(db_file) == [kept]
    finally:
        await live.close()


async def test_taking_back_drops_only_the_lease(tmp_path: Path) -> None:
    """A leased row's ``next_attempt_at`` is its lease's expiry (the due time it had was at
    most its claim's time): taken back, it is due now. Rows not leased keep their time (a
    scheduled retry, a rate-limited slot released to later)."""
    db_file = tmp_path / "take.db"
    store = await open_store(f"sqlite:///{db_file}")
    assert isinstance(store, SqliteStore)
    try:
        app_id, _ = await _app_with_endpoint(store)
        await _send(store, app_id, 2)
        holder = store.queue.lease_holder
        assert holder is not None
        leased, later = await store.queue.claim_due(
            worker_id=f"{holder}:0", limit=2, lease_seconds=300
        )
        slot = time.time() + 120
        await store.queue.release([later], at=slot)
        t0 = time.time()
        assert await store._hot_path.take_back_leases([holder]) == 1
        owner, at = _lease_of(db_file, leased.delivery_id)
        assert owner is None
        assert t0 <= at <= time.time()
        owner, at = _lease_of(db_file, later.delivery_id)
        assert owner is None
        assert at == pytest.approx(slot)
    finally:
        await store.close()


async def test_a_store_that_fails_to_open_is_closed(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``open_store`` closes a store whose ``open`` raised: no threads, pools or lock file
    are left behind."""
    from hookwise.store.postgres import PostgresStore

    closed: list[Store] = []
    for cls in (SqliteStore, PostgresStore):
        real_open, real_close = cls.open, cls.close

        async def failing_open(self: Any, real: Any = real_open) -> None:
            await real(self)
            raise Injected("open")

        async def counted_close(self: Any, real: Any = real_close) -> None:
            closed.append(self)
            await real(self)

        monkeypatch.setattr(cls, "open", failing_open)
        monkeypatch.setattr(cls, "close", counted_close)
    with pytest.raises(Injected):
        await open_store(db_url)
    assert len(closed) == 1
    if isinstance(closed[0], SqliteStore):
        assert closed[0]._db._thread is None  # the writer thread stopped
        assert _lock_files(tmp_path / "hookwise.db") == []


async def test_leases_a_close_cannot_give_back_are_taken_back_at_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When giving back fails on close, the holder's file stays (unlocked): the next store to
    start finds the holder gone and takes its leases back."""
    db_file = tmp_path / "keep.db"
    db = f"sqlite:///{db_file}"
    closing = await open_store(db)
    assert isinstance(closing, SqliteStore)
    app_id, _ = await _app_with_endpoint(closing)
    await _send(closing, app_id, 1)
    holder = closing.queue.lease_holder
    [claim] = await closing.queue.claim_due(worker_id=f"{holder}:0", limit=1, lease_seconds=300)

    async def failing(holders: Any) -> int:
        raise Injected("take back")

    monkeypatch.setattr(closing._hot_path, "take_back_leases", failing)
    await closing.close()
    assert _lock_files(db_file) == [f"keep.db-holder-{holder}.lock"]
    assert _lease_of(db_file, claim.delivery_id)[0] == f"{holder}:0"
    after = await open_store(db)
    try:
        assert _lease_of(db_file, claim.delivery_id)[0] is None
        kept = f"keep.db-holder-{after.queue.lease_holder}.lock"
        assert _lock_files(db_file) == [kept]
    finally:
        await after.close()
