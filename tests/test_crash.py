"""Kill `hookwise serve` with SIGKILL mid-delivery: after a restart every accepted message
is delivered (duplicates allowed, losses not), at once: the restarted process takes back the
leases of the dead one (its holder lock is free), and only those (a live process's stay)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from hookwise.store import open_store
from tests.processes import Proc, admin_key, env, free_port, wait_healthy
from tests.receivers import Receiver
from tests.store.backlog import hold_backlog

N = 400
LONG_LEASE = "300"  # far longer than any test waits: a lease that runs out fails the test


@dataclass(frozen=True)
class Service:
    """Where a test's ``hookwise serve`` runs: its SQLite file, an admin key, its base URL
    and the environment of every process started on it."""

    db_file: Path
    db: str
    key: str
    base: str
    environ: dict[str, str]


def _service(tmp_path: Path, name: str, lease_seconds: str) -> Service:
    db_file = tmp_path / name
    db = f"sqlite:///{db_file}"
    port = free_port()
    environ = env(db, HOOKWISE_LEASE_SECONDS=lease_seconds, HOOKWISE_PORT=str(port))
    return Service(db_file, db, admin_key(db), f"http://127.0.0.1:{port}", environ)


async def test_sigkill_loses_nothing(tmp_path: Path, receiver: Receiver) -> None:
    svc = _service(tmp_path, "crash.db", lease_seconds="2")
    key, base, environ = svc.key, svc.base, svc.environ
    receiver.always("/hook", 200, delay=2.0)  # keep attempts in flight when the kill comes

    first = Proc(["serve"], environ, tmp_path / "serve1.log")
    try:
        await wait_healthy(base, first)
        accepted = await _app_sending(base, key, receiver, N)
        await receiver.wait_for(lambda r: len(r.requests) >= 16, timeout=30)
        first.kill()
        receiver.always("/hook", 200)  # the second run may go fast
    finally:
        first.close()
    delivered_before = {x.headers["webhook-id"] for x in receiver.requests}
    assert len(delivered_before) < N  # the kill really came mid-run

    second = Proc(["serve"], environ, tmp_path / "serve2.log")
    try:
        await wait_healthy(base, second)
        await receiver.wait_for(
            lambda r: {x.headers["webhook-id"] for x in r.requests} >= accepted, timeout=90
        )
        assert await second.stop() == 0  # graceful stop
    finally:
        second.close()
    ids = [x.headers["webhook-id"] for x in receiver.requests]
    duplicates = len(ids) - len(set(ids))
    print(f"crash test: {N} accepted, {len(ids)} received, {duplicates} duplicates")
    assert set(ids) == accepted


async def _app_sending(
    base: str, key: str, receiver: Receiver, n: int, **endpoint: object
) -> set[str]:
    """An app whose endpoint is the receiver, and ``n`` messages accepted."""
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as c:
        app = (await c.post("/v1/apps", json={"name": "restart"})).json()
        r = await c.post(
            f"/v1/apps/{app['id']}/endpoints",
            json={"url": receiver.url(), **endpoint},
        )
        assert r.status_code == 201, r.text
        accepted = set()
        for i in range(n):
            r = await c.post(
                f"/v1/apps/{app['id']}/messages",
                json={"event_type": "crash.test", "payload": {"i": i}},
            )
            assert r.status_code == 202
            accepted.add(r.json()["id"])
    return accepted


def _leases(db_file: Path) -> dict[str, int]:
    """Valid leases by owner, read straight from the file."""
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute(
            "SELECT lease_owner, count(*) FROM deliveries WHERE lease_owner IS NOT NULL"
            " AND next_attempt_at > ? GROUP BY lease_owner",
            (time.time(),),
        ).fetchall()
    return dict(rows)


async def test_a_restart_after_sigkill_resumes_at_once(tmp_path: Path, receiver: Receiver) -> None:
    """The dead process's leases (300 s) are taken back at the restart, not waited out."""
    svc = _service(tmp_path, "restart.db", LONG_LEASE)
    db_file, key, base, environ = svc.db_file, svc.key, svc.base, svc.environ
    receiver.always("/hook", 200, delay=600)  # hangs: the attempts stay in flight, leased

    first = Proc(["serve"], environ, tmp_path / "serve1.log")
    try:
        await wait_healthy(base, first)
        accepted = await _app_sending(base, key, receiver, 20, timeout_seconds=30)
        await receiver.wait_for(lambda r: len(r.requests) >= 5, timeout=30)
        first.kill()
    finally:
        first.close()
    leased = _leases(db_file)
    assert sum(leased.values()) >= 5, leased  # the dead process holds long leases
    assert [f for f in os.listdir(tmp_path) if "-holder-" in f]  # and its lock file is left
    receiver.always("/hook", 200)
    done = len(receiver.requests)  # they hang: none was recorded, every one is sent again

    t0 = time.monotonic()
    second = Proc(["serve"], environ, tmp_path / "serve2.log")
    try:
        await wait_healthy(base, second)
        await receiver.wait_for(
            lambda r: {x.headers["webhook-id"] for x in r.requests[done:]} >= accepted,
            timeout=20,
        )
        took = time.monotonic() - t0
        assert "took back" in second.log.read_text()
        assert await second.stop() == 0
    finally:
        second.close()
    print(f"restart after kill -9: all {len(accepted)} delivered {took:.1f} s after the restart")
    assert not [f for f in os.listdir(tmp_path) if "-holder-" in f]  # all cleaned up


async def test_a_stop_with_answers_hanging_ends_within_its_grace(
    tmp_path: Path, receiver: Receiver
) -> None:
    """SIGTERM while every attempt hangs on a receiver that never answers: the process exits
    cleanly once its grace is over (not when the attempts time out), and gives the deliveries
    back, due at once, so the next start sends them again."""
    svc = _service(tmp_path, "grace.db", LONG_LEASE)
    environ = {**svc.environ, "HOOKWISE_SHUTDOWN_GRACE_SECONDS": "1"}
    receiver.always("/hook", 200, delay=600)
    proc = Proc(["serve"], environ, tmp_path / "serve.log")
    try:
        await wait_healthy(svc.base, proc)
        await _app_sending(svc.base, svc.key, receiver, 5, timeout_seconds=30)
        await receiver.wait_for(lambda r: len(r.requests) >= 5, timeout=30)
        t0 = time.monotonic()
        assert await proc.stop() == 0
        took = time.monotonic() - t0
    finally:
        proc.close()
    print(f"stopped in {took:.1f} s")
    assert took < 10, took  # the grace (1 s), not the attempts' 30 s timeout
    assert "5 attempts still in flight after 1 s given back" in proc.log.read_text()
    assert _leases(svc.db_file) == {}
    with sqlite3.connect(svc.db_file) as conn:
        due = conn.execute(
            "SELECT count(*) FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?",
            (time.time(),),
        ).fetchone()[0]
    assert due == 5


async def test_a_second_live_process_leaves_the_first_ones_leases(
    tmp_path: Path, receiver: Receiver
) -> None:
    """Two `serve` on one file by accident: the second's start takes back nothing."""
    db_file = tmp_path / "two.db"
    db = f"sqlite:///{db_file}"
    key = admin_key(db)
    ports = free_port(), free_port()
    receiver.always("/hook", 200, delay=600)
    first = Proc(
        ["serve"],
        env(db, HOOKWISE_LEASE_SECONDS=LONG_LEASE, HOOKWISE_PORT=str(ports[0])),
        tmp_path / "serve1.log",
    )
    second: Proc | None = None
    try:
        await wait_healthy(f"http://127.0.0.1:{ports[0]}", first)
        await _app_sending(f"http://127.0.0.1:{ports[0]}", key, receiver, 10, timeout_seconds=30)
        # all 10 sent (their answers hang): all leased, and the first claims nothing more
        await receiver.wait_for(lambda r: len(r.requests) >= 10, timeout=30)
        before = _leases(db_file)
        assert sum(before.values()) == 10
        second = Proc(
            ["serve"],
            env(db, HOOKWISE_LEASE_SECONDS=LONG_LEASE, HOOKWISE_PORT=str(ports[1])),
            tmp_path / "serve2.log",
        )
        await wait_healthy(f"http://127.0.0.1:{ports[1]}", second)  # its start-up scan is done
        after = _leases(db_file)
        assert {k: v for k, v in after.items() if k in before} == before  # untouched
        assert "took back" not in second.log.read_text()
        ids = [x.headers["webhook-id"] for x in receiver.requests]
        assert len(ids) == len(set(ids))  # nothing sent twice
    finally:
        first.close()
        if second is not None:
            second.close()


async def test_an_opening_store_takes_back_only_gone_holders(tmp_path: Path) -> None:
    """In one process: a store whose lock is dropped (as by a dead process) loses its leases
    to the next store opened; a store still open keeps its own."""
    from tests.store.test_contract import _app_with_endpoint, _send

    db = f"sqlite:///{tmp_path / 'holders.db'}"
    live, dead = await open_store(db), await open_store(db)
    try:
        app_id, _ = await _app_with_endpoint(live)
        await _send(live, app_id, 4)
        for store in (live, dead):
            owner = f"{store.queue.lease_holder}:0"
            assert (
                len(await store.queue.claim_due(worker_id=owner, limit=2, lease_seconds=300)) == 2
            )
        os.close(dead._holder._fd)  # type: ignore[attr-defined]  # the kernel's part of a kill -9
        dead._holder._fd = None  # type: ignore[attr-defined]
        third = await open_store(db)
        try:
            leases = _leases(tmp_path / "holders.db")
            assert leases == {f"{live.queue.lease_holder}:0": 2}
            holders = sorted(p.name for p in tmp_path.glob("holders.db-holder-*.lock"))
            assert holders == sorted(
                f"holders.db-holder-{s.queue.lease_holder}.lock" for s in (live, third)
            )  # the dead one's file is gone, the live ones' kept
            assert await third.queue.next_due_at() is not None
            assert (await third.queue.queue_stats()).in_flight == 2
        finally:
            await third.close()
    finally:
        await live.close()
        await dead.close()


async def test_a_release_killed_mid_way_finishes_after_the_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    """kill -9 right after a re-enable: the release (a first step done, the rest an operation
    leased by the dead process's stepper) is finished by the next process at once, and every
    held delivery goes out."""
    svc = _service(tmp_path, "release.db", LONG_LEASE)
    db_file, db, key, base, environ = svc.db_file, svc.db, svc.key, svc.base, svc.environ
    receiver.always("/hook", 200)
    held = 20_000

    first = Proc(["serve"], environ, tmp_path / "serve1.log")
    try:
        await wait_healthy(base, first)
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as c:
            app = (await c.post("/v1/apps", json={"name": "release"})).json()["id"]
            ep = (await c.post(f"/v1/apps/{app}/endpoints", json={"url": receiver.url()})).json()
            path = f"/v1/apps/{app}/endpoints/{ep['id']}"
            assert (await c.patch(path, json={"status": "paused"})).status_code == 200
            store = await open_store(db)  # another process on the same file, as a CLI would be
            try:
                ids = set(await hold_backlog(store, app, ep["id"], held))
            finally:
                await store.close()
            assert (await c.patch(path, json={"status": "active"})).status_code == 200
        await _stepping(db_file)
        first.kill()  # mid-release, the operation leased by this process's stepper
    finally:
        first.close()
    with sqlite3.connect(db_file) as conn:
        status, done, owner = conn.execute(
            "SELECT status, done, lease_owner FROM operations"
        ).fetchone()
        left = conn.execute("SELECT count(*) FROM deliveries WHERE status = 'held'").fetchone()
    assert status == "running" and done < held and left[0] > 0  # the kill came mid-release
    assert owner is not None  # held by the dead process's stepper (its lease runs 15 s)

    second = Proc(["serve"], environ, tmp_path / "serve2.log")
    try:
        await wait_healthy(base, second)
        await receiver.wait_for(
            lambda r: {x.headers["webhook-id"] for x in r.requests} >= ids, timeout=90
        )
        assert "operations leased by" in second.log.read_text()  # taken back, not waited out
        assert await second.stop() == 0
    finally:
        second.close()
    got = [x.headers["webhook-id"] for x in receiver.requests]
    # a duplicate is an attempt the dead process had sent (or was sending) but not recorded
    print(f"release killed mid-way: {held} held, {done} released before the kill,"
          f" {len(got)} received, {len(got) - len(set(got))} duplicates")  # fmt: skip
    assert set(got) == ids


async def _stepping(db_file: Path) -> None:
    """Return once the release is running under a stepper's lease (read from the file)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sqlite3.connect(db_file) as conn:
            row = conn.execute("SELECT status, lease_owner FROM operations").fetchone()
        if row is not None and row[0] == "running" and row[1] is not None:
            return
        await asyncio.sleep(0.002)  # another process's progress: nothing to await but the file
    raise AssertionError("the release was never leased while running")
