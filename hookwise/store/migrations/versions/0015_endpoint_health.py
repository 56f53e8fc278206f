"""attempts: an index of each endpoint's attempts by time, with outcome and duration

The console's endpoint page shows success rates and p50/p95 latency over the last hour and
day, the last success and failure, and attempts per minute (issue 16). The index
``(app_id, endpoint_id, started_at, status, duration_ms)`` serves each of those as an index
range read alone; it replaces ``ix_attempts_endpoint`` (``app_id, endpoint_id``), its prefix,
so recording an attempt still updates as many indexes as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_attempts_endpoint_health",
        "attempts",
        ["app_id", "endpoint_id", "started_at", "status", "duration_ms"],
        unique=False,
    )
    op.drop_index("ix_attempts_endpoint", table_name="attempts")


def downgrade() -> None:
    op.create_index("ix_attempts_endpoint", "attempts", ["app_id", "endpoint_id"], unique=False)
    op.drop_index("ix_attempts_endpoint_health", table_name="attempts")
