"""attempts: the request headers an attempt sent and the response headers it got (issue 16)

The console's attempt detail shows what went over the wire. The body was already
reconstructable (the message's body and the attempt's ``payload_format``); the headers were
not: the signatures depend on the secret and the timestamp of that attempt. Both columns hold
``Name: value`` lines: the request's as the delivery computed them (custom header values
redacted, as the API redacts them; the signatures shown, the secret never), the response's cut
at 4 KiB. Older attempts keep NULL (unknown).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.add_column(sa.Column("request_headers", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("response_headers", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attempts") as batch_op:
        batch_op.drop_column("response_headers")
        batch_op.drop_column("request_headers")
