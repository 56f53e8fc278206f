"""Cluster tests: real ``hookwise api`` and ``hookwise worker`` processes sharing one fresh
PostgreSQL database, delivering to a real receiver on loopback.

A test that restarts PostgreSQL restarts a throwaway server of its own
(``tests.cluster.throwaway``), never the machine's shared one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pg import postgres_url_for
from tests.processes import Proc, admin_key, env, free_port, wait_healthy
from tests.receivers import Receiver


class Cluster:
    """One database, any number of API and worker processes, and an admin HTTP client."""

    def __init__(self, db_url: str, logs: Path, **settings: str) -> None:
        self.db_url = db_url
        self.logs = logs
        self.settings = settings
        self.procs: list[Proc] = []
        self.key = ""
        self.base_url = ""
        self.http: httpx.AsyncClient | None = None

    def _env(self, **extra: str) -> dict[str, str]:
        return env(self.db_url, **{**self.settings, **extra})

    async def start_api(self) -> Proc:
        """``hookwise api`` on a free port, once it answers /healthz; makes the admin client."""
        if not self.key:
            self.key = await asyncio.to_thread(admin_key, self.db_url)
        port = free_port()
        proc = self._spawn(["api"], f"api-{port}", HOOKWISE_PORT=str(port))
        self.base_url = f"http://127.0.0.1:{port}"
        await wait_healthy(self.base_url, proc)
        self.http = httpx.AsyncClient(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )
        return proc

    async def start_workers(self, n: int, *, concurrency: int = 50) -> list[Proc]:
        """``n`` ``hookwise worker`` processes, once each says it runs."""
        procs = [
            self._spawn(["worker", "--concurrency", str(concurrency)], f"worker-{len(self.procs)}")
            for _ in range(n)
        ]
        await asyncio.gather(*(wait_log(p, "hookwise worker running") for p in procs))
        return procs

    def _spawn(self, args: list[str], name: str, **extra: str) -> Proc:
        proc = Proc(args, self._env(**extra), self.logs / f"{name}.log")
        self.procs.append(proc)
        return proc

    async def app_and_endpoint(self, receiver: Receiver, **endpoint: Any) -> tuple[str, str]:
        """An app with one endpoint pointing at the receiver; their ids."""
        assert self.http is not None
        r = await self.http.post("/v1/apps", json={"name": "cluster"})
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        r = await self.http.post(
            f"/v1/apps/{app_id}/endpoints", json={"url": receiver.url(), **endpoint}
        )
        assert r.status_code == 201, r.text
        return app_id, r.json()["id"]

    async def send_many(self, app_id: str, n: int, *, parallel: int = 16) -> list[str]:
        """Post ``n`` messages, ``parallel`` at a time; the accepted ids in order."""
        assert self.http is not None
        http = self.http
        ids: list[str] = [""] * n
        sem = asyncio.Semaphore(parallel)

        async def one(i: int) -> None:
            async with sem:
                r = await http.post(
                    f"/v1/apps/{app_id}/messages",
                    json={"event_type": "cluster.test", "payload": {"i": i}},
                )
                assert r.status_code == 202, r.text
                ids[i] = r.json()["id"]

        await asyncio.gather(*(one(i) for i in range(n)))
        return ids

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
        for p in self.procs:
            p.close()


async def wait_log(proc: Proc, text: str, timeout: float = 30) -> None:
    """Wait until ``text`` shows in the process's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = proc.log.read_text(errors="replace") if proc.log.exists() else ""
        if text in log:
            return
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.log.name} exited: {log[-2000:]}")
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{proc.log.name} did not log {text!r}")


async def wait_delivered(
    receiver: Receiver, want: set[str], timeout: float, *, path: str = "/hook"
) -> set[str]:
    """Wait until every id in ``want`` reached ``path``; the ids received."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    done = 0
    while time.monotonic() < deadline:
        got = receiver.requests
        for x in got[done:]:
            if x.path == path:
                seen.add(x.headers["webhook-id"])
        done = len(got)
        if want <= seen:
            return seen
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{len(want - seen)} of {len(want)} messages never arrived")


@pytest.fixture
def cluster_db(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated PostgreSQL database for this test."""
    return postgres_url_for(request)


@pytest.fixture
async def cluster(cluster_db: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    c = Cluster(cluster_db, tmp_path, HOOKWISE_POLL_INTERVAL_SECONDS="1")
    yield c
    await c.close()
