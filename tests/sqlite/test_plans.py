"""SQLite's plans of the bulk steps: rows taken by key, never a whole app read through an index.

With no statistics, SQLite's planner read every delivery of the app through
``ix_deliveries_endpoint`` for a re-queue of a few thousand ids (a recover of 1,000,000 failed
deliveries ran at ~290 rows/s, the other apps' p99 4x): ``Dialect.key_in`` makes it look the
ids up first and take the rows by ``rowid``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hookwise.store.migrate import upgrade
from hookwise.store.queue import _APPS_ENDPOINTS, _STATS
from hookwise.store.requeue import _REQUEUE
from hookwise.store.sql import SQLITE, sqlite_marks, still
from hookwise.store.sqlite.queue import _DUE, _DUE_CLAIMED


def plan(path: Path, sql: str, args: tuple[object, ...]) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sqlite_marks(sql), args)]


def test_a_requeue_of_given_ids_takes_them_by_key(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'h.db'}")
    by_key = SQLITE.key_in("deliveries", "$2", "$3")
    steps = plan(tmp_path / "h.db", _REQUEUE + f"{by_key} AND {still('status', 'failed')}",
                 (0.0, "app_1", "[]"))  # fmt: skip
    assert steps[0] == "SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)"
    assert not any("(app_id=?)" in s for s in steps), steps


def test_an_apps_queue_counts_read_its_backlog_not_its_history(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'h.db'}")
    steps = plan(tmp_path / "h.db", f"{_STATS} AND {_APPS_ENDPOINTS}", (0.0, "app_1"))
    assert steps[0].startswith("SEARCH deliveries USING INDEX ix_deliveries_endpoint_due"), steps


def test_the_queue_counts_read_only_the_queue(tmp_path: Path) -> None:
    # the due indexes hold only pending and held deliveries (migration 0019): a statement
    # that asks for those as ``IN (...)`` cannot use them, and scans every delivery
    upgrade(f"sqlite:///{tmp_path / 'h.db'}")
    steps = plan(tmp_path / "h.db", _STATS, (0.0,))
    assert steps[0].startswith("SEARCH deliveries USING INDEX ix_deliveries_"), steps


def test_a_claim_reads_an_endpoints_due_deliveries_in_due_order(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'h.db'}")
    through = (
        "USING INDEX ix_deliveries_endpoint_due (status=? AND endpoint_id=? AND next_attempt_at<?)"
    )
    for sql in (_DUE, _DUE_CLAIMED):
        steps = plan(tmp_path / "h.db", sql, ("ep_1", 0.0, 64))
        assert any(s.startswith("SEARCH") and s.endswith(through) for s in steps), steps
        assert not any("TEMP B-TREE" in s for s in steps), steps  # in the index's order
