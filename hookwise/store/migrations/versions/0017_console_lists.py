"""deliveries, attempts: lists by message and by job read in id order from their index

A message's or a job's deliveries and attempts are listed newest first (``ORDER BY id DESC``).
With ``(app_id, message_id)`` and ``(app_id, job_id)`` SQLite, which has no statistics, walked
the primary key ``(app_id, id)`` backwards instead, past every row of the app, to avoid a sort:
the console's message page took ~200 ms with 100,000 attempts in the app, its job page ~85 ms
(bench/console.py). With ``id`` last in each index the list is one range read in the order
asked, on both databases. The indexes replace the old ones (their prefixes), so a delivery or
an attempt written updates as many indexes as before.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 07:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("deliveries", "attempts")
_PARTIAL = "job_id IS NOT NULL"


def _indexes(table: str, last: list[str]) -> None:
    op.create_index(f"ix_{table}_message", table, ["app_id", "message_id", *last], unique=False)
    op.create_index(
        f"ix_{table}_job",
        table,
        ["app_id", "job_id", *last],
        unique=False,
        postgresql_where=sa.text(_PARTIAL),
        sqlite_where=sa.text(_PARTIAL),
    )


def _drop(table: str) -> None:
    op.drop_index(f"ix_{table}_message", table_name=table)
    op.drop_index(f"ix_{table}_job", table_name=table)


def upgrade() -> None:
    for table in _TABLES:
        _drop(table)
        _indexes(table, ["id"])


def downgrade() -> None:
    for table in _TABLES:
        _drop(table)
        _indexes(table, [])
