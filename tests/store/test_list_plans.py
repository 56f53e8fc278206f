"""The plans of the console's lists by message and by job, on every Store: one range read of
their index in the order asked (newest first), never a walk of the app's primary key past its
other rows, nor a sort. With 100,000 attempts in an app the walk made SQLite's message page
take ~200 ms (bench/console.py)."""

from __future__ import annotations

import sqlite3

import asyncpg

from hookwise.domain.models import DeliveryFilter
from hookwise.store import Store
from hookwise.store.filters import delivery_where
from hookwise.store.sql import sqlite_marks

# (table, filter, the index that must serve it)
LISTS = [
    (table, f, f"ix_{table}_{column}")
    for table in ("attempts", "deliveries")
    for column, f in (
        ("message", DeliveryFilter(message_id="msg_3")),
        ("job", DeliveryFilter(job_id="job_3")),
    )
]

# what PostgreSQL's planner needs to see: rows, spread over messages and jobs
_ROWS = "'app', 'ep', 'msg_' || (i % 20), 'job_' || (i % 20)"
FILL = [
    "INSERT INTO attempts (app_id, endpoint_id, message_id, job_id, id, delivery_id,"
    " attempt_number, status, duration_ms, started_at, url, trigger)"
    f" SELECT {_ROWS}, 'att_' || i, 'dlv_' || i, 1, 'succeeded', 1, i, 'http://x', 'auto'"
    " FROM generate_series(1, 2000) i",
    "INSERT INTO deliveries (app_id, endpoint_id, message_id, job_id, id, status,"
    f" created_at, updated_at) SELECT {_ROWS}, 'dlv_' || i, 'succeeded', i, i"
    " FROM generate_series(1, 2000) i",
]


def _statements() -> list[tuple[str, tuple[object, ...], str]]:
    """Each list's first page and a later one: (statement, its arguments, the index)."""
    out = []
    for table, f, index in LISTS:
        for cursor in (None, f"{table[:3]}_9"):
            w = delivery_where("app", f)
            text = w.page(table, cursor)
            out.append((text, (*w.args, 51), index))
    return out


async def test_lists_by_message_and_job_read_their_index_in_order(
    store: Store, db_url: str
) -> None:
    del store  # the database, migrated
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            for text, args, index in _statements():
                rows = conn.execute("EXPLAIN QUERY PLAN " + sqlite_marks(text), args)
                plan = [str(r[3]) for r in rows]
                assert plan == [plan[0]] and f"USING INDEX {index} " in plan[0], (text, plan)
        return
    conn = await asyncpg.connect(db_url)
    try:  # 2,000 rows each over 20 messages and 20 jobs, then the planner's statistics
        for statement in FILL:
            await conn.execute(statement)
        await conn.execute("VACUUM ANALYZE attempts")
        await conn.execute("VACUUM ANALYZE deliveries")
        for text, args, index in _statements():
            explained = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + text, *args))
            assert index in explained and "Sort" not in explained, (text, explained)
    finally:
        await conn.close()
