"""Cross-worker rules with real processes: the per-endpoint rate limit and in-flight cap hold
across two workers (each leasing ahead of the endpoint's free slots whenever it alone leases
there), a pause stops what a worker leased ahead, and a worker told to stop (SIGTERM) finishes
and records what it holds, claims nothing more, and leaves no lease behind."""

from __future__ import annotations

import asyncio
import bisect
import time

import asyncpg

from tests.cluster.conftest import Cluster, wait_delivered
from tests.receivers import Receiver

RATE = 20
TOLERANCE = 3  # timer, scheduler and network jitter on a loaded two-core CI machine
CAP = 4


def busiest_second(times: list[float]) -> int:
    """The most requests in any one-second window (each window starts at a request)."""
    times = sorted(times)
    return max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))


async def test_rate_limit_holds_across_two_workers(cluster: Cluster, receiver: Receiver) -> None:
    await cluster.start_api()
    app_id, _ = await cluster.app_and_endpoint(receiver, rate_limit_per_second=RATE)
    # accepted before the workers start: the receiver shares this event loop, and must not
    # stamp arrivals late while the loop is busy sending
    accepted = await cluster.send_many(app_id, 100)
    await cluster.start_workers(2, concurrency=100)
    await wait_delivered(receiver, set(accepted), timeout=60)

    times = [x.at for x in receiver.at("/hook")]
    peak = busiest_second(times)
    span = max(times) - min(times)
    print(f"\nrate limit {RATE}/s, two workers: busiest second {peak}, 100 in {span:.2f} s")
    assert len(times) == 100
    assert peak <= RATE + TOLERANCE
    assert span >= (100 - RATE - TOLERANCE) / RATE  # and it really was spread out


async def test_in_flight_cap_holds_across_two_workers_leasing_ahead(
    cluster: Cluster, receiver: Receiver
) -> None:
    receiver.always("/hook", 200, delay=0.02)
    await cluster.start_api()
    app_id, _ = await cluster.app_and_endpoint(receiver, max_in_flight=CAP)
    accepted = await cluster.send_many(app_id, 150)
    await cluster.start_workers(2, concurrency=100)  # each may lease 4x CAP when alone
    await wait_delivered(receiver, set(accepted), timeout=60)
    assert receiver.peak["/hook"] == CAP  # reached, never exceeded
    assert len(receiver.at("/hook")) == 150  # none sent twice


async def _until_leased(db_url: str, n: int, timeout: float) -> None:
    """Wait until exactly ``n`` deliveries are under a valid lease."""
    deadline = time.monotonic() + timeout
    conn = await asyncpg.connect(db_url)
    try:
        while True:
            leased = await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE lease_owner IS NOT NULL"
                " AND next_attempt_at > extract(epoch FROM now())"
            )
            if leased == n:
                return
            assert time.monotonic() < deadline, f"{leased} leased, not {n}"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def test_a_pause_stops_what_a_worker_leased_ahead(
    cluster: Cluster, receiver: Receiver
) -> None:
    """A worker alone on a slow endpoint holds its cap's attempts and three times as many
    leased ahead; paused by hand, the endpoint gets the attempts under way, not the rest
    until it is resumed."""
    receiver.always("/hook", 200, delay=0.5)
    await cluster.start_api()
    assert cluster.http is not None
    app_id, ep_id = await cluster.app_and_endpoint(receiver, max_in_flight=CAP)
    accepted = await cluster.send_many(app_id, 20)
    await cluster.start_workers(1, concurrency=100)
    await _until_leased(cluster.db_url, CAP * 4, timeout=30)  # its cap, and 3x that ahead
    r = await cluster.http.patch(f"/v1/apps/{app_id}/endpoints/{ep_id}", json={"status": "paused"})
    assert r.status_code == 200, r.text
    # the waiting ones are given back at the worker's next look (every 0.25 s), not sent one
    # round of answers (0.5 s) after another: the rounds under way, and one more at most on
    # a busy machine; all sixteen went out before
    await _until_leased(cluster.db_url, 0, timeout=5)
    assert len(receiver.at("/hook")) <= CAP * 3
    receiver.always("/hook", 200)
    r = await cluster.http.patch(f"/v1/apps/{app_id}/endpoints/{ep_id}", json={"status": "active"})
    assert r.status_code == 200, r.text
    await wait_delivered(receiver, set(accepted), timeout=30)
    assert len(receiver.at("/hook")) == 20  # none sent twice


async def test_sigterm_drains_a_worker(cluster: Cluster, receiver: Receiver) -> None:
    receiver.always("/hook", 200, delay=1.5)  # attempts still in flight when SIGTERM comes
    await cluster.start_api()
    app_id, _ = await cluster.app_and_endpoint(receiver)
    (worker,) = await cluster.start_workers(1, concurrency=5)
    accepted = await cluster.send_many(app_id, 20)
    await receiver.wait_for(lambda r: len(r.requests) >= 5, timeout=30)

    rc = await asyncio.to_thread(worker.terminate, 30)
    assert rc == 0
    assert "Traceback" not in worker.log.read_text()
    await asyncio.sleep(0.5)
    assert len(receiver.requests) == 5  # nothing claimed after SIGTERM

    conn = await asyncpg.connect(cluster.db_url)
    try:
        rows = await conn.fetch("SELECT message_id, status, lease_owner FROM deliveries")
    finally:
        await conn.close()
    sent = {x.headers["webhook-id"] for x in receiver.requests}
    by_status = {r["message_id"]: r["status"] for r in rows}
    assert {m for m, s in by_status.items() if s == "succeeded"} == sent  # recorded before exit
    assert sorted(by_status.values()).count("pending") == 15
    assert all(r["lease_owner"] is None for r in rows)  # no lease left to expire

    # a new worker picks up the rest at once: nothing waits for a lease to run out
    receiver.always("/hook", 200)
    await cluster.start_workers(1, concurrency=5)
    await wait_delivered(receiver, set(accepted), timeout=30)
