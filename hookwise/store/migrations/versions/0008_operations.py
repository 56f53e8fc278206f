"""operations: bulk changes that run in the background in bounded steps

Re-enabling a paused endpoint released its whole held backlog in one statement inside the API
call: 300,000 held deliveries froze every tenant's ingest on SQLite for ~2 s (issue 19). The
release now runs in steps of at most a few thousand rows, each its own short transaction, and
this table is where it is written down: what is released, how far it is, and which process
holds its lease, so that a release survives a restart and is finished by whoever runs next.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("endpoint_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "id"),
    )
    op.create_index(
        "ix_operations_running",
        "operations",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'running'"),
        sqlite_where=sa.text("status = 'running'"),
    )
    op.create_index(
        "ix_operations_endpoint", "operations", ["app_id", "endpoint_id", "status"], unique=False
    )


def downgrade() -> None:
    op.drop_table("operations")
