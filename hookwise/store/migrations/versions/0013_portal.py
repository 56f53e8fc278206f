"""portal: console sessions, single-use portal links, and each app's portal brand (issue 16)

The console's cookie held the raw API key; it now holds a session token whose hash is a row
here, so signing out, a revoked key and idle expiry end it on the server. A portal link is a
short-lived, single-use token (stored hashed) that opens a session scoped to one app.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("apps", sa.Column("portal_name", sa.String(length=100), nullable=True))
    op.add_column("apps", sa.Column("portal_color", sa.String(length=7), nullable=True))
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=True),
        sa.Column("key_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_console_sessions_key", "console_sessions", ["key_id"], unique=False)
    op.create_index("ix_console_sessions_app", "console_sessions", ["app_id"], unique=False)
    op.create_index("ix_console_sessions_expires", "console_sessions", ["expires_at"], unique=False)
    op.create_table(
        "portal_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_portal_links_app", "portal_links", ["app_id"], unique=False)
    op.create_index("ix_portal_links_expires", "portal_links", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("portal_links")
    op.drop_table("console_sessions")
    op.drop_column("apps", "portal_color")
    op.drop_column("apps", "portal_name")
