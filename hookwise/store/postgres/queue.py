"""PostgreSQL: the delivery queue's hot path, composed of ``claims`` and ``records``.

Hand-tuned per backend: measured. Claims run on the claim pool and records on the record
pool, straight on asyncpg connections, so a claim never queues behind a batch of records or an
API query; ``record_and_claim`` claims in the record's own transaction. The rest of the queue
is ``store.queue``'s, written once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from hookwise.domain.models import AttemptResult, ClaimedDelivery
from hookwise.domain.secretbox import SecretBox
from hookwise.store.operational import OperationalEvents
from hookwise.store.postgres import claims, records
from hookwise.store.postgres.handle import PostgresHandle
from hookwise.store.postgres.vacuum import Vacuum
from hookwise.store.queue import Ask
from hookwise.store.roles import Turn
from hookwise.store.sql import Tx, fetchval


class PostgresHotPath:
    """Claiming and recording on PostgreSQL, for any number of worker processes."""

    #: Two record-and-claims under way: the second's record overlaps the first's claim and
    #: commit (they wait for no lock), so the worker and the database stop taking turns over
    #: one connection's round trips; the CPU per delivery stays the same (bench/README.md has
    #: the figures).
    overlapping_writes = 2
    #: A freed slot waits for a record-and-claim (its round trips and commit) unless claims
    #: lease ahead of it (bench/README.md has the figures).
    leases_ahead = 192
    #: Leases only expire: no process can see another one gone.
    lease_holder: str | None = None

    def __init__(
        self, handle: PostgresHandle, box: SecretBox, told: OperationalEvents, vacuum: Vacuum
    ) -> None:
        self._pg = handle
        self._decrypt = box.decrypt
        self._told = told
        self._vacuum = vacuum

    async def claim(self, ask: Ask) -> list[ClaimedDelivery]:
        async with self._pg.pools.transaction("claim") as c:
            return await claims.claim(c, ask, self._decrypt)

    async def record_and_claim(
        self, results: Sequence[AttemptResult], pause_after: int, ask: Ask, turn: Turn
    ) -> list[ClaimedDelivery]:
        # On the record pool: the claim statements run after the record's, in its transaction,
        # so their snapshots see the leases it ended (and the endpoint rows it locked are its own).
        # With a turn, this record overlaps only the previous transaction's claim and commit,
        # which wait for no lock (claims skip locked rows): no wait can go round in a circle.
        due_now = backlog = False
        async with self._pg.pools.transaction("record") as c:
            await turn.before_record()
            try:
                if results:
                    due_now, backlog = await records.record(
                        c, results, pause_after, self._told.watch
                    )
            finally:
                turn.recorded()
            await turn.before_claim()
            got = await claims.claim(c, ask, self._decrypt) if ask.limit > 0 else []
        self._after_record(len(results), due_now, backlog and len(got) == ask.limit)
        return got

    async def record(self, results: Sequence[AttemptResult], pause_after: int) -> None:
        async with self._pg.pools.transaction("record") as c:
            due_now, backlog = await records.record(c, results, pause_after, self._told.watch)
        self._after_record(len(results), due_now, backlog)

    def _after_record(self, recorded: int, due_now: bool, backlog: bool) -> None:
        self._vacuum.recorded(recorded)
        if due_now or backlog:
            self._pg.listener.wake()  # a due retry notified in its transaction already
        if backlog:
            # room freed on an endpoint with work waiting (at its cap): wake the other
            # processes, which otherwise would not look again before their next poll
            self._pg.notifier.poke()

    async def next_due_at(self) -> float | None:
        """When a claim could next find something (``claims.NEXT_DUE``): an endpoint at its
        cap is due when a lease runs out, as a record that frees room sooner notifies."""

        def tx() -> Tx[float | None]:
            r = yield fetchval(claims.NEXT_DUE, time.time())
            return None if r is None else float(r)

        return await self._pg.read(tx)
