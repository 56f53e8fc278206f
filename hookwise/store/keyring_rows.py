"""The ``Keyring`` role, written once for both databases: the ``meta`` rows and the batches of
sealed columns that the secret key's check and rotation (``keyring``) read and write."""

from __future__ import annotations

from collections.abc import Mapping

from hookwise.store import keyring
from hookwise.store.sql import Handle, Tx, execute, fetch, fetchval

_READ = "SELECT value FROM meta WHERE name = $1"


class Keyring:
    """The ``meta`` table and the sealed columns over one database ``Handle``."""

    def __init__(self, db: Handle) -> None:
        self._db = db

    async def read_meta(self, name: str) -> str | None:
        """The ``meta`` row ``name``, or None."""

        def tx() -> Tx[str | None]:
            value = yield fetchval(_READ, name)
            return None if value is None else str(value)

        return await self._db.read(tx)

    async def init_meta(self, name: str, value: str) -> str:
        """Write ``meta`` row ``name`` unless it exists; the value it holds afterwards."""

        def tx() -> Tx[str]:
            yield execute(
                "INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                name,
                value,
            )
            return str((yield fetchval(_READ, name)))

        return await self._db.write(tx)

    async def write_meta(self, values: Mapping[str, str | None]) -> None:
        """Set (None: delete) ``meta`` rows, in one transaction."""

        def tx() -> Tx[None]:
            for name, value in values.items():
                if value is None:
                    yield execute("DELETE FROM meta WHERE name = $1", name)
                else:
                    yield execute(
                        "INSERT INTO meta (name, value) VALUES ($1, $2)"
                        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        name,
                        value,
                    )

        await self._db.write(tx)

    async def sealed_sample(self) -> str | None:
        """One encrypted secret of the database, if it has any."""

        def tx() -> Tx[str | None]:
            value = yield fetchval(keyring.SAMPLE_SQL)
            return None if value is None else str(value)

        return await self._db.read(tx)

    async def reseal_secrets(
        self, table: str, after: str | None, limit: int, reseal: keyring.Reseal
    ) -> list[str]:
        """Rewrite the sealed columns (``keyring.SEALED``) of ``table``'s next ``limit`` rows
        after id ``after`` with what ``reseal`` makes of them, in one transaction; answer their
        ids in order (none: the table is done)."""
        select = keyring.select_sql(table, ("$1", "$2")) + self._db.dialect.for_update

        def tx() -> Tx[list[str]]:
            found = yield fetch(select, after or "", limit)
            for r in found:
                sets = reseal({k: r[k] for k in keyring.SEALED[table]})
                if sets:
                    assign = ", ".join(f"{k} = ${i}" for i, k in enumerate(sets, start=2))
                    yield execute(
                        f"UPDATE {table} SET {assign} WHERE id = $1", r["id"], *sets.values()
                    )
            return [r["id"] for r in found]

        return await self._db.write(tx)
