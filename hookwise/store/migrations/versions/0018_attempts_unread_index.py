"""attempts: no index by delivery

``ix_attempts_delivery`` (``app_id, delivery_id``) came with the first schema; no query reads
it (the attempts are listed by message, endpoint, tag or job, pruned by time, and deleted with
their app), and every attempt recorded wrote an entry into it: on PostgreSQL one WAL record of
the ~12 a recorded attempt writes (``pg_stat_statements``, bench/README.md).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_attempts_delivery", table_name="attempts")


def downgrade() -> None:
    op.create_index("ix_attempts_delivery", "attempts", ["app_id", "delivery_id"], unique=False)
