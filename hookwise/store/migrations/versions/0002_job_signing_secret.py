"""the app's job signing secret

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 06:00:00

Every one-off ``webhook_url`` target of an app's jobs signs with one secret per app, readable
at ``GET /v1/apps/{app}/job-secret``; the previous ones stay valid through a rotation.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("job_secret", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("job_previous_secrets", sa.Text(), server_default="[]", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_column("job_previous_secrets")
        batch_op.drop_column("job_secret")
