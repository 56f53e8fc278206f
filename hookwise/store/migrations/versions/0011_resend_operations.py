"""operations: a bulk resend runs in bounded steps too (its filter)

Re-queuing many messages meant one ``POST …/messages/{msg}/resend`` per message, or an
unbounded statement (issue 19). ``POST /v1/apps/{app}/resend`` writes a ``resend``
operation that the stepper carries out step by step; the operation keeps its filter: ``until``
(the window's end), ``event_type``, and ``delivery_status`` (``failed``, or ``all`` finished
deliveries), with ``since``, ``endpoint_id`` and the keyset cursor ``after_id`` it shares with a
recover. Pausing and deleting an endpoint write ``hold`` and ``cancel`` operations in the same
table, with no new column.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("operations") as batch_op:
        batch_op.add_column(sa.Column("until", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("event_type", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch_op:
        batch_op.drop_column("delivery_status")
        batch_op.drop_column("event_type")
        batch_op.drop_column("until")
