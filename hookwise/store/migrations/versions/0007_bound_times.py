"""Times and rates written before they were bounded are brought into range.

A ``rate_limit_per_second`` as small as 1e-300 was accepted and put ``next_attempt_at`` (and the
endpoint's ``rl_next_at``) near 1e300 seconds: no datetime holds that, so every list showing the
row failed, and the delivery would never have been attempted. The API now takes 0.01 at least;
this makes stored rows agree: such rates become 0.01 and such times become due now.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 22:55:00
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIN_RATE = 0.01
LAST = 253_402_300_799.0  # 9999-12-31T23:59:59Z: later than any datetime can say


def upgrade() -> None:
    now = time.time()
    op.execute(
        sa.text(
            "UPDATE endpoints SET rate_limit_per_second = :rate WHERE rate_limit_per_second < :rate"
        ).bindparams(rate=MIN_RATE)
    )
    op.execute(
        sa.text("UPDATE endpoints SET rl_next_at = :now WHERE rl_next_at > :last").bindparams(
            now=now, last=LAST
        )
    )
    op.execute(
        sa.text(
            "UPDATE deliveries SET next_attempt_at = :now WHERE next_attempt_at > :last"
        ).bindparams(now=now, last=LAST)
    )


def downgrade() -> None:
    pass  # the old values could not be read back: nothing to restore
