"""deliveries: the due indexes hold only the rows still to be attempted (PostgreSQL)

Every claim and every record of a delivery is a new row version (``status``,
``next_attempt_at`` and ``lease_owner`` are indexed, so neither is a HOT update), and a new row
version gets an entry in every index whose predicate it satisfies. ``ix_deliveries_due`` and
``ix_deliveries_endpoint_due`` were full: a delivery recorded as succeeded, failed or canceled
still added an entry to both, which no query reads (every query through them asks for
pending or held deliveries: the claims, the releases of held ones in due order, the queue's
counts), and the claim walked past those dead entries until a vacuum removed them. Partial,
the record of a finished delivery writes two index entries fewer and both indexes stay the
size of the queue, not of the history.

SQLite keeps its indexes as they are (its writer does not rewrite every index per update).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, columns): as declared in ``store.tables``
_PARTIAL = (
    ("ix_deliveries_due", "status, next_attempt_at"),
    ("ix_deliveries_endpoint_due", "status, endpoint_id, next_attempt_at"),
)
_QUEUED = "status IN ('pending', 'held')"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in _PARTIAL:
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON deliveries ({columns}) WHERE {_QUEUED}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in _PARTIAL:
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON deliveries ({columns})")
