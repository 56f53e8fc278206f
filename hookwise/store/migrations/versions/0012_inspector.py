"""inspector: bins that record every request sent to them, and their captures (issue 16)

A developer points an endpoint at ``/inspect/{bin_id}`` of the same hookwise and sees what was
sent: method, path, query, headers, body and time. Both tables are small and short-lived: a
bin expires (``HOOKWISE_INSPECTOR_TTL_SECONDS``) and keeps its newest captures only.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inspector_bins",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inspector_bins_expires", "inspector_bins", ["expires_at"], unique=False)
    op.create_table(
        "inspector_captures",
        sa.Column("bin_id", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_size", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("bin_id", "id"),
    )


def downgrade() -> None:
    op.drop_table("inspector_captures")
    op.drop_table("inspector_bins")
