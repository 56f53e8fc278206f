"""PostgreSQL: ``deliveries`` vacuumed while a backlog drains, between autovacuum's visits.

Each claim and each record writes a new version of a delivery's row; the old version stays,
dead, until a vacuum removes it, and so do its index entries. The claims walk
``ix_deliveries_due`` and ``ix_deliveries_endpoint_due`` from the oldest due time, which is
where the entries of delivered rows pile up: an index scan marks each dead entry once and
skips it afterwards, but still reads its page, and only a vacuum takes the pages away.
Migration 0005 has autovacuum clean the table once 1 % of it changed, but the launcher visits a
database once a minute (``autovacuum_naptime``), and one worker drains ~450,000 deliveries of a
backlog in that minute: the claims' walk and their time grow all along (bench/README.md has
the figures).

So the process that records counts what it records, and every ``CHECK_EVERY`` deliveries asks
the server's statistics how many dead versions the table holds. Past ``DEAD_MIN``, and past
``DEAD_SHARE`` of its rows (a vacuum reads every index of the table whole, so a large table
waits for more), it runs ``VACUUM (SKIP_LOCKED, PARALLEL 0) deliveries`` in the background, one
at a time, in one backend as autovacuum does (a parallel vacuum took up to three backends for
half a second every few seconds for a 2 % faster drain, bench/README.md). A vacuum of the table
already under way (another worker's, autovacuum's) makes it skip, never wait; a role that does
not own the table gets the server's warning and vacuums nothing, and autovacuum goes on as
before. A failure is logged and never reaches a delivery.
"""

from __future__ import annotations

import asyncio
import logging

from hookwise.domain.errors import StoreUnavailable
from hookwise.store.postgres.pool import Pools
from hookwise.store.postgres.tasks import cancel

log = logging.getLogger("hookwise.store")

#: Deliveries recorded by this process between two looks at the table's dead versions.
CHECK_EVERY = 20_000
#: Dead versions the table must hold before a vacuum: each delivery leaves two (its claim's
#: and its record's), so ~50,000 deliveries drained since the last vacuum.
DEAD_MIN = 100_000
#: ... and this share of its rows (autovacuum's own trigger, migration 0005, is 1 %).
DEAD_SHARE = 0.05
#: How long one vacuum may take (the pool's 60 s command timeout is for the hot path).
VACUUM_TIMEOUT = 3600.0

_DEAD = (
    "SELECT s.n_dead_tup AS dead, greatest(c.reltuples, s.n_live_tup::real) AS live"
    " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
    " WHERE s.relid = to_regclass('deliveries')"
)
_VACUUM = "VACUUM (SKIP_LOCKED, PARALLEL 0) deliveries"


def due(dead: int, live: float, *, dead_min: int, share: float) -> bool:
    """Whether ``dead`` dead versions beside ``live`` rows are worth a vacuum now."""
    return dead >= dead_min and dead >= share * max(live, 0.0)


class Vacuum:
    """Vacuums ``deliveries`` in the background when what this process recorded left enough
    dead versions (the module's docstring says why). Its thresholds start as ``CHECK_EVERY``,
    ``DEAD_MIN`` and ``DEAD_SHARE`` (tests lower them)."""

    def __init__(self, db: Pools) -> None:
        self._db = db
        self.check_every = CHECK_EVERY
        self.dead_min = DEAD_MIN
        self.share = DEAD_SHARE
        self._since_check = 0
        self._task: asyncio.Task[None] | None = None

    def recorded(self, count: int) -> None:
        """``count`` deliveries were recorded: look at the table if enough were since the
        last look, and no vacuum of ours is under way."""
        self._since_check += count
        if self._since_check < self.check_every:
            return
        if self._task is not None and not self._task.done():
            return
        self._since_check = 0
        self._task = asyncio.get_running_loop().create_task(
            self._vacuum_if_due(), name="hookwise-vacuum"
        )

    async def _vacuum_if_due(self) -> None:
        try:
            row = await self._db.fetchrow(_DEAD)
            if row is None or not due(
                int(row["dead"]), float(row["live"]), dead_min=self.dead_min, share=self.share
            ):
                return
            async with self._db.connection() as conn:
                await conn.execute(_VACUUM, timeout=VACUUM_TIMEOUT)
            log.debug("VACUUM deliveries done or skipped (%d dead versions before)", row["dead"])
        except StoreUnavailable as exc:  # looked at again after the next CHECK_EVERY
            log.warning("could not vacuum deliveries: %s", exc)
        except Exception as exc:  # a bug: deliveries go on, loudly
            log.error("could not vacuum deliveries", exc_info=exc)

    async def settled(self) -> None:
        """Wait for the look at the table (and its vacuum) under way, if any."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def close(self) -> None:
        """Stop a vacuum under way (the server cancels it)."""
        await cancel(self._task)
        self._task = None
