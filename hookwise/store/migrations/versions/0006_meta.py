"""meta: facts about the database itself (the secret key check value)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 22:00:00

``secret_key_check`` holds a known token encrypted with ``HOOKWISE_SECRET_KEY``: every process
that opens the store checks its key against it and refuses to start with a missing or wrong key,
rather than showing ciphertext as a secret or signing with it. ``secret_key_next`` is there only
while a key rotation is under way.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("meta")
