"""PostgreSQL restarted mid-run: the API answers 503 in the error shape while it is away, the
workers reconnect by themselves, and every accepted message is delivered afterwards.

The server restarted is a throwaway one of this test's own (``tests.cluster.throwaway``), never
the machine's shared server, so the test runs with the rest of the suite.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from hookwise.store.migrate import upgrade
from tests.cluster.conftest import Cluster, wait_delivered
from tests.cluster.throwaway import ThrowawayPostgres, require_server_bin
from tests.receivers import Receiver


@pytest.fixture
def throwaway_pg() -> Iterator[ThrowawayPostgres]:
    """A running PostgreSQL server of this test's own, removed afterwards."""
    pg = ThrowawayPostgres(require_server_bin())
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.remove()


@pytest.fixture
async def own_cluster(throwaway_pg: ThrowawayPostgres, tmp_path: Path) -> AsyncIterator[Cluster]:
    """A ``Cluster`` over a migrated database on the throwaway server."""
    conn = await asyncpg.connect(throwaway_pg.url, timeout=10)
    try:
        await conn.execute("CREATE DATABASE hookwise")
    finally:
        await conn.close()
    url = throwaway_pg.url_for("hookwise")
    await asyncio.to_thread(upgrade, url)
    c = Cluster(url, tmp_path, HOOKWISE_POLL_INTERVAL_SECONDS="1")
    yield c
    await c.close()


def _restart(pg: ThrowawayPostgres) -> float:
    """Restart the server; how long it took."""
    t0 = time.monotonic()
    pg.restart()
    return time.monotonic() - t0


class Producer:
    """Posts a message every few milliseconds and sorts the answers."""

    def __init__(self, http: httpx.AsyncClient, app_id: str) -> None:
        self.http = http
        self.app_id = app_id
        self.accepted: set[str] = set()
        self.unavailable: list[dict[str, Any]] = []
        self.unexpected: list[str] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                r = await self.http.post(
                    f"/v1/apps/{self.app_id}/messages",
                    json={"event_type": "restart.test", "payload": {"i": i}},
                )
            except httpx.HTTPError as exc:
                self.unexpected.append(repr(exc))
            else:
                if r.status_code == 202:
                    self.accepted.add(r.json()["id"])
                elif r.status_code == 503:
                    self.unavailable.append(r.json())
                else:
                    self.unexpected.append(f"{r.status_code} {r.text}")
            await asyncio.sleep(0.02)

    async def accepted_more(self, n: int, timeout: float) -> None:
        want = len(self.accepted) + n
        deadline = time.monotonic() + timeout
        while len(self.accepted) < want:
            assert time.monotonic() < deadline, "the API did not recover"
            await asyncio.sleep(0.05)


async def test_postgres_restart_mid_run(
    own_cluster: Cluster, throwaway_pg: ThrowawayPostgres, receiver: Receiver
) -> None:
    cluster = own_cluster
    cluster.settings["HOOKWISE_LEASE_SECONDS"] = "5"
    receiver.always("/hook", 200, delay=0.01)
    await cluster.start_api()
    app_id, _ = await cluster.app_and_endpoint(receiver)
    workers = await cluster.start_workers(2, concurrency=20)
    assert cluster.http is not None
    producer = Producer(cluster.http, app_id)
    producing = asyncio.create_task(producer.run())
    try:
        await producer.accepted_more(50, timeout=30)
        took = await asyncio.to_thread(_restart, throwaway_pg)
        await producer.accepted_more(50, timeout=60)
    finally:
        producer.stop.set()
        await producing

    print(
        f"\npg restart ({took:.1f} s): {len(producer.accepted)} accepted,"
        f" {len(producer.unavailable)} answered 503"
    )
    assert not producer.unexpected, producer.unexpected[:5]
    assert producer.unavailable, "no request arrived while PostgreSQL was away"
    for body in producer.unavailable:
        assert set(body) == {"error"}
        assert set(body["error"]) == {"code", "message", "details"}
        assert body["error"]["code"] == "store_unavailable"

    await wait_delivered(receiver, producer.accepted, timeout=60)
    for w in workers:
        assert w.popen.poll() is None, w.log.read_text()[-2000:]  # reconnected, not restarted
        assert await w.stop() == 0
