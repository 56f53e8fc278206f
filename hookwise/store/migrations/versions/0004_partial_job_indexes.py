"""deliveries, attempts: index job_id only where there is one

Most deliveries and attempts belong to no job. Indexed in full, every one of them added an
entry under the same key (app_id, NULL), and every claim and record of a delivery (each a new
row version) another: index work on the hot path that no query uses. Queries by job always say
``job_id = …``, which implies the predicate, so they use the partial index as before.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("deliveries", "attempts")


def upgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_job", table_name=table)
        op.create_index(
            f"ix_{table}_job",
            table,
            ["app_id", "job_id"],
            unique=False,
            postgresql_where=sa.text("job_id IS NOT NULL"),
            sqlite_where=sa.text("job_id IS NOT NULL"),
        )


def downgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_job", table_name=table)
        op.create_index(f"ix_{table}_job", table, ["app_id", "job_id"], unique=False)
