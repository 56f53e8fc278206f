"""Three workers deliver 5,000 messages; one is killed with SIGKILL mid-run. Every message
arrives at least once, and the only duplicates are deliveries the dead worker held leases on.

The messages are enqueued through the store from the test process (the API's own code path
minus HTTP): on a two-core CI machine, 5,000 HTTP requests would take longer than the
delivering they are here to feed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import asyncpg

from hookwise.domain.models import NewMessage
from hookwise.store.postgres import PostgresStore
from tests.cluster.conftest import Cluster, wait_delivered
from tests.receivers import Receiver

N = 5000
CONCURRENCY = 50
LEASE = 3


async def _leases_of(db_url: str, pid: int) -> set[str]:
    """Message ids of the deliveries a worker process holds a lease on (its id is host:pid:…)."""
    conn = await asyncpg.connect(db_url)
    try:
        rows = await conn.fetch(
            "SELECT message_id FROM deliveries WHERE lease_owner LIKE $1 AND status = 'pending'",
            f"%:{pid}:%",
        )
    finally:
        await conn.close()
    return {r["message_id"] for r in rows}


async def _enqueue(db_url: str, app_id: str, n: int) -> list[str]:
    store = PostgresStore(db_url)
    await store.open()
    sem = asyncio.Semaphore(10)

    async def one(i: int) -> str:
        async with sem:
            body = b'{"i": %d}' % i
            enq = await store.messages.enqueue_message(
                NewMessage(app_id=app_id, event_type="cluster.test", body=body)
            )
            return enq.message.id

    try:
        return await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await store.close()


async def test_sigkill_of_one_of_three_workers_loses_nothing(
    cluster: Cluster, receiver: Receiver
) -> None:
    cluster.settings["HOOKWISE_LEASE_SECONDS"] = str(LEASE)
    receiver.always("/hook", 200, delay=0.02)  # keep attempts in flight when the kill comes
    await cluster.start_api()
    app_id, _ = await cluster.app_and_endpoint(receiver, max_in_flight=1000)
    t0 = time.monotonic()
    accepted = await _enqueue(cluster.db_url, app_id, N)  # a backlog: workers run flat out
    sent_in = time.monotonic() - t0
    assert len(set(accepted)) == N

    t0 = time.monotonic()
    victim, *survivors = await cluster.start_workers(3, concurrency=CONCURRENCY)
    await receiver.wait_for(lambda r: len(r.requests) >= N // 4, timeout=60)
    victim.kill()
    held = await _leases_of(cluster.db_url, victim.popen.pid)
    assert len(receiver.requests) < N  # the kill came mid-run

    await wait_delivered(receiver, set(accepted), timeout=90)
    elapsed = time.monotonic() - t0
    ids = Counter(x.headers["webhook-id"] for x in receiver.at("/hook"))
    duplicated = {m for m, n in ids.items() if n > 1}
    duplicates = sum(ids.values()) - len(ids)
    print(
        f"\ncluster kill test: {N} accepted, {sum(ids.values())} received, {duplicates}"
        f" duplicates; the killed worker held {len(held)} leases; accepted in {sent_in:.1f} s,"
        f" delivered in {elapsed:.1f} s"
    )
    assert set(ids) == set(accepted)
    # a duplicate can only be a delivery the killed worker had leased and not recorded
    assert duplicated <= held, duplicated - held
    assert duplicates <= CONCURRENCY
    assert receiver.requests[-1].at  # the receiver is still answering
    for w in survivors:
        assert await w.stop() == 0  # graceful drain on SIGTERM
