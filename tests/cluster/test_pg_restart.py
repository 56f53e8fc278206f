"""PostgreSQL restarted mid-run: the API answers 503 in the error shape while it is away, the
workers reconnect by themselves, and every accepted message is delivered afterwards.

This restarts the local server, so it runs only alone: ``pytest -m pg_restart tests/cluster``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import Cluster, wait_delivered
from tests.receivers import Receiver

pytestmark = [pytest.mark.pg_restart, pytest.mark.postgres]


def _restart_postgres() -> float:
    """Restart the local cluster the way an operator would; how long it took."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    t0 = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
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


async def test_postgres_restart_mid_run(cluster: Cluster, receiver: Receiver) -> None:
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
        took = await asyncio.to_thread(_restart_postgres)
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
        assert w.terminate() == 0
