"""PostgreSQL: the ``meta`` rows and the batches of a secret key rotation (rules in
``keyring``)."""

from __future__ import annotations

from collections.abc import Mapping

from hookwise.store import keyring
from hookwise.store.postgres.pool import Pools


class PostgresKeyring:
    """What the secret key check and rotation read and write."""

    _db: Pools

    async def read_meta(self, name: str) -> str | None:
        value = await self._db.fetchval("SELECT value FROM meta WHERE name = $1", name)
        return None if value is None else str(value)

    async def init_meta(self, name: str, value: str) -> str:
        async with self._db.transaction() as c:
            await c.execute(
                "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                name,
                value,
            )
            return str(await c.fetchval("SELECT value FROM meta WHERE name = $1", name))

    async def write_meta(self, values: Mapping[str, str | None]) -> None:
        async with self._db.transaction() as c:
            for name, value in values.items():
                if value is None:
                    await c.execute("DELETE FROM meta WHERE name = $1", name)
                else:
                    await c.execute(
                        "INSERT INTO meta (name, value) VALUES ($1, $2)"
                        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        name,
                        value,
                    )

    async def sealed_sample(self) -> str | None:
        value = await self._db.fetchval(keyring.SAMPLE_SQL)
        return None if value is None else str(value)

    async def reseal_secrets(
        self, table: str, after: str | None, limit: int, reseal: keyring.Reseal
    ) -> list[str]:
        cols = keyring.SEALED[table]
        async with self._db.transaction() as c:
            found = await c.fetch(
                keyring.select_sql(table, ("$1", "$2")) + " FOR UPDATE", after or "", limit
            )
            for r in found:
                sets = reseal({k: r[k] for k in cols})
                if sets:
                    assign = ", ".join(f"{k} = ${i}" for i, k in enumerate(sets, start=2))
                    await c.execute(
                        f"UPDATE {table} SET {assign} WHERE id = $1", r["id"], *sets.values()
                    )
        return [r["id"] for r in found]
