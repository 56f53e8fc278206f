"""SQLite's enqueue: hand-tuned per backend (measured, see bench/README.md's embedded ingest).

The whole enqueue is one function of the connection on the writer thread, group-committed with
the enqueues queued behind it (one fsync for many messages), its statements run straight on
``sqlite3`` (``executemany`` for tags and deliveries): the generic transaction of statements
(``store.sql``) costs the one writer thread more per message. The message goes first: a
repeated ``event_id`` inserts nothing, and the shared ``Draft.repeated`` answers; the
endpoints it goes to, in what status, are the shared ``Draft``'s.
"""

from __future__ import annotations

import sqlite3

from hookwise.domain.ids import new_id
from hookwise.sqlite.writer import SqliteFile
from hookwise.store import rows
from hookwise.store.enqueue import Accepted, Draft
from hookwise.store.sql import SQLITE, sqlite_marks
from hookwise.store.sqlite.handle import is_duplicate, run

_MESSAGE = (
    "INSERT INTO messages (app_id, id, event_type, event_id, body, tags, job_id, created_at)"
    " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (app_id, event_id) DO NOTHING"
)
_TAG = "INSERT OR IGNORE INTO message_tags (app_id, tag, message_id) VALUES (?,?,?)"
_DELIVERY = (
    "INSERT INTO deliveries (app_id, id, message_id, endpoint_id, job_id, status,"
    " attempt_count, retry_base, trigger, next_attempt_at, created_at, updated_at)"
    " VALUES (?,?,?,?,?,?,0,0,?,?,?,?)"
)


class SqliteEnqueue:
    """Commits messages on ``file``'s writer thread (the ``Enqueue`` of ``Messages``)."""

    def __init__(self, file: SqliteFile) -> None:
        self._file = file

    async def __call__(self, draft: Draft) -> Accepted:
        return await self._file.write(lambda c: _enqueue(c, draft))


def _enqueue(c: sqlite3.Connection, d: Draft) -> Accepted:
    new, at = d.new, d.at
    try:
        inserted = c.execute(
            _MESSAGE,
            (new.app_id, d.id, new.event_type, new.event_id, new.body,
             rows.dumps(list(new.tags)), new.job_id, at),
        ).rowcount  # fmt: skip
    except sqlite3.IntegrityError as exc:
        if not is_duplicate(exc):
            raise
        raise d.taken() from exc
    if not inserted:
        first = run(c, d.repeated())
        assert first is not None  # writes are serial: what stopped the insert is still there
        return Accepted(first, due=False)
    sql, args = d.endpoints(SQLITE)
    to = d.targets(c.execute(sqlite_marks(sql), args).fetchall())
    if new.tags:
        c.executemany(_TAG, [(new.app_id, t, d.id) for t in new.tags])
    dlv = [
        (new.app_id, new_id("dlv"), d.id, t["id"], new.job_id, t["status"], new.trigger, at, at, at)
        for t in to
    ]
    c.executemany(_DELIVERY, dlv)
    return d.accepted(tuple([x[1] for x in dlv]), "pending" in [x[5] for x in dlv])
