"""seed-exact webhooks: payload formats, job webhook profiles, a per-app item cap (issue 15)

- ``endpoints.payload_format`` (``envelope``, today's body, or ``raw``: the message's payload
  alone) and ``apps.payload_format``, the default of an app's new endpoints;
- ``attempts.payload_format``: which body an attempt sent, so the log shows it exactly;
- ``apps.job_profile``: how the app's job webhooks look (event and field names, single-result
  shape, status map, results endpoint), JSON, NULL for hookwise's own shape;
- ``apps.max_items_per_job``: a cap the product sets (NULL: none);
- ``jobs.fields``: extra top-level fields given when a job is created (``lead_list_id``).

Every existing row keeps today's behaviour: envelopes, hookwise's job shape, no cap.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _format(nullable: bool) -> sa.Column[str]:
    if nullable:
        return sa.Column("payload_format", sa.String(length=10), nullable=True)
    return sa.Column(
        "payload_format", sa.String(length=10), nullable=False, server_default="envelope"
    )


def upgrade() -> None:
    with op.batch_alter_table("apps") as batch_op:
        batch_op.add_column(_format(nullable=False))
        batch_op.add_column(sa.Column("job_profile", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("max_items_per_job", sa.Integer(), nullable=True))
    with op.batch_alter_table("endpoints") as batch_op:
        batch_op.add_column(_format(nullable=False))
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.add_column(_format(nullable=True))
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.add_column(sa.Column("fields", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("fields")
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.drop_column("payload_format")
    with op.batch_alter_table("endpoints") as batch_op:
        batch_op.drop_column("payload_format")
    with op.batch_alter_table("apps") as batch_op:
        batch_op.drop_column("max_items_per_job")
        batch_op.drop_column("job_profile")
        batch_op.drop_column("payload_format")
