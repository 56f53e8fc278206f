"""Kill `hookwise serve` with SIGKILL mid-delivery: after a restart every accepted message
is delivered (duplicates allowed, losses not)."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.processes import Proc, admin_key, env, free_port, wait_healthy
from tests.receivers import Receiver

N = 400


async def test_sigkill_loses_nothing(tmp_path: Path, receiver: Receiver) -> None:
    db = f"sqlite:///{tmp_path / 'crash.db'}"
    key = admin_key(db)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environ = env(db, HOOKWISE_LEASE_SECONDS="2", HOOKWISE_PORT=str(port))
    receiver.always("/hook", 200, delay=2.0)  # keep attempts in flight when the kill comes

    first = Proc(["serve"], environ, tmp_path / "serve1.log")
    try:
        await wait_healthy(base, first)
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10
        ) as c:
            app = (await c.post("/v1/apps", json={"name": "crash"})).json()
            r = await c.post(f"/v1/apps/{app['id']}/endpoints", json={"url": receiver.url()})
            assert r.status_code == 201, r.text
            accepted = set()
            for i in range(N):
                r = await c.post(
                    f"/v1/apps/{app['id']}/messages",
                    json={"event_type": "crash.test", "payload": {"i": i}},
                )
                assert r.status_code == 202
                accepted.add(r.json()["id"])
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
        assert second.terminate() == 0  # graceful stop
    finally:
        second.close()
    ids = [x.headers["webhook-id"] for x in receiver.requests]
    duplicates = len(ids) - len(set(ids))
    print(f"crash test: {N} accepted, {len(ids)} received, {duplicates} duplicates")
    assert set(ids) == accepted
