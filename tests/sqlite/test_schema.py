"""The migrated SQLite schema's indexes are the ones ``store.tables`` declares, WHERE included.

Alembic's comparison (tests/store/test_contract.py) does not look at an index's predicate:
here the migrated file's ``CREATE INDEX`` statements are compared, as SQLite keeps them, with
the ones ``tables.metadata`` creates in a file of its own (tests/store/test_postgres.py does
the same on PostgreSQL).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from hookwise.store.migrate import upgrade
from hookwise.store.tables import metadata


def _indexes(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        return {name: sql for name, sql in rows if sql is not None}  # not the automatic ones


def test_the_migrated_indexes_are_the_declared_ones(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'migrated.db'}")
    engine = create_engine(f"sqlite:///{tmp_path / 'declared.db'}")
    metadata.create_all(engine)
    engine.dispose()
    migrated, declared = _indexes(tmp_path / "migrated.db"), _indexes(tmp_path / "declared.db")
    # the due indexes keep only the deliveries still to be attempted (migration 0019)
    assert "WHERE status = 'pending' OR status = 'held'" in declared["ix_deliveries_due"]
    assert migrated == declared
