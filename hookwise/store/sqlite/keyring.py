"""SQLite: the ``meta`` rows and the batches of a secret key rotation (rules in ``keyring``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from hookwise.sqlite.writer import SqliteFile
from hookwise.store import keyring


class SqliteKeyring:
    """What the secret key check and rotation read and write."""

    _db: SqliteFile

    async def read_meta(self, name: str) -> str | None:
        def op(c: sqlite3.Connection) -> str | None:
            r = c.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
            return None if r is None else str(r["value"])

        return await self._db.read(op)

    async def init_meta(self, name: str, value: str) -> str:
        def op(c: sqlite3.Connection) -> str:
            c.execute("INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)", (name, value))
            return str(c.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()[0])

        return await self._db.write(op)

    async def write_meta(self, values: Mapping[str, str | None]) -> None:
        def op(c: sqlite3.Connection) -> None:
            for name, value in values.items():
                if value is None:
                    c.execute("DELETE FROM meta WHERE name = ?", (name,))
                else:
                    c.execute(
                        "INSERT INTO meta (name, value) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        (name, value),
                    )

        await self._db.write(op)

    async def sealed_sample(self) -> str | None:
        def op(c: sqlite3.Connection) -> str | None:
            r = c.execute(keyring.SAMPLE_SQL).fetchone()
            return None if r is None else str(r["v"])

        return await self._db.read(op)

    async def reseal_secrets(
        self, table: str, after: str | None, limit: int, reseal: keyring.Reseal
    ) -> list[str]:
        def op(c: sqlite3.Connection) -> list[str]:
            found = c.execute(keyring.select_sql(table, ("?", "?")), (after or "", limit))
            ids = []
            for r in found.fetchall():
                ids.append(r["id"])
                sets = reseal({k: r[k] for k in keyring.SEALED[table]})
                if sets:
                    assign = ", ".join(f"{k} = ?" for k in sets)
                    c.execute(
                        f"UPDATE {table} SET {assign} WHERE id = ?", (*sets.values(), r["id"])
                    )
            return ids

        return await self._db.write(op)
