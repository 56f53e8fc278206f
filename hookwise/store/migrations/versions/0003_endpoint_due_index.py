"""deliveries: an index to claim per endpoint (status, endpoint_id, next_attempt_at)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_endpoint_due",
        "deliveries",
        ["status", "endpoint_id", "next_attempt_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_endpoint_due", table_name="deliveries")
