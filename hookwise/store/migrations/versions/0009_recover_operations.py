"""operations: a recover runs in bounded steps too (its ``since`` time and its keyset cursor)

``POST …/endpoints/{ep}/recover`` re-queued every failed delivery of the endpoint since a time
in one statement inside the API call (issue 19): it now writes a ``recover`` operation that the
stepper carries out step by step. The operation keeps its ``since`` time, and ``after_id``, the
last delivery id a step went through, so the next step starts past it: no delivery is read or
re-queued twice, even one that fails again meanwhile. The endpoint's delivery index gains the
id, so a step reads exactly its next rows in id order (the same columns before it: every query
it served, it still serves).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch_op:
        batch_op.add_column(sa.Column("since", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("after_id", sa.String(length=40), nullable=True))
    op.drop_index("ix_deliveries_endpoint", table_name="deliveries")
    op.create_index(
        "ix_deliveries_endpoint", "deliveries", ["app_id", "endpoint_id", "status", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_endpoint", table_name="deliveries")
    op.create_index("ix_deliveries_endpoint", "deliveries", ["app_id", "endpoint_id", "status"])
    with op.batch_alter_table("operations") as batch_op:
        batch_op.drop_column("after_id")
        batch_op.drop_column("since")
