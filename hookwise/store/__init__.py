"""The store: the Store protocol and its SQLite and PostgreSQL implementations."""

from __future__ import annotations

import logging

from hookwise.domain.secretbox import SecretBox
from hookwise.store import keyring
from hookwise.store.migrate import ensure_migrated
from hookwise.store.roles import Enqueued, QueueStats, Store

log = logging.getLogger("hookwise.store")


async def open_store(
    db_url: str, *, secret_key: str | None = None, migrate: bool = True, check_key: bool = True
) -> Store:
    """Open the store a ``HOOKWISE_DB`` URL names, migrating it first when ``migrate``.

    Unless ``check_key`` is False, raise SecretKeyError (the store closed again) when
    ``secret_key`` is missing or not the key the database's secrets were written with.
    """
    ensure_migrated(db_url, auto=migrate)
    box = SecretBox(secret_key)
    store: Store
    if db_url.startswith("sqlite:///"):
        from hookwise.store.sqlite import SqliteStore

        store = SqliteStore(db_url, secret_box=box)
    else:
        from hookwise.store.postgres import PostgresStore

        store = PostgresStore(db_url, secret_box=box)
    try:
        await store.open()
        if check_key:
            await keyring.check(store.keyring, box)
    except BaseException:
        try:
            await store.close()  # its threads, pools and lock file: nothing left behind
        except Exception as exc:
            log.warning("closing the store that failed to open failed too: %s", exc)
        raise
    return store


__all__ = ["Enqueued", "QueueStats", "Store", "open_store"]
