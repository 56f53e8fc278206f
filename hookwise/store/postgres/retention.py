"""PostgreSQL: retention. Old attempts and finished messages go in small batches.

Each batch is its own short transaction that deletes at most ``batch`` rows by primary key, and
rows that someone else holds are skipped (``SKIP LOCKED``), so pruning a large history never
holds long locks or blocks the workers; cost stays flat however long the history grows.
"""

from __future__ import annotations

from hookwise.store.postgres.pool import Pools

_PRUNE_ATTEMPTS = """
DELETE FROM attempts a
USING (SELECT app_id, id FROM attempts WHERE started_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED) o
WHERE a.app_id = o.app_id AND a.id = o.id
"""

# Messages whose deliveries are all finished; their deliveries and tags go with them (tags by
# their full primary key, read from the message's own ``tags`` column).
_PRUNE_MESSAGES = """
WITH old AS (
    SELECT m.app_id, m.id, m.tags FROM messages m
    WHERE m.created_at < $1 AND NOT EXISTS (
        SELECT 1 FROM deliveries d
        WHERE d.app_id = m.app_id AND d.message_id = m.id AND d.status IN ('pending', 'held'))
    LIMIT $2
    FOR UPDATE OF m SKIP LOCKED
), dd AS (
    DELETE FROM deliveries d USING old WHERE d.app_id = old.app_id AND d.message_id = old.id
), dt AS (
    DELETE FROM message_tags t
    USING (SELECT app_id, id, json_array_elements_text(tags::json) AS tag FROM old) x
    WHERE t.app_id = x.app_id AND t.tag = x.tag AND t.message_id = x.id
), dm AS (
    DELETE FROM messages m USING old WHERE m.app_id = old.app_id AND m.id = old.id RETURNING 1
)
SELECT count(*) FROM dm
"""


class PostgresRetention:
    """Pruning old history."""

    _db: Pools

    async def prune(self, *, older_than: float, batch: int = 5000) -> int:
        total = 0
        while True:
            attempts = await self._db.execute(_PRUNE_ATTEMPTS, older_than, batch)
            messages = int(await self._db.fetchval(_PRUNE_MESSAGES, older_than, batch))
            total += attempts + messages
            if attempts < batch and messages < batch:
                return total
