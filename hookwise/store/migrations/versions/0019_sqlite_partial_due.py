"""deliveries: the due indexes hold only the rows still to be attempted (SQLite too)

On SQLite a record that finishes a delivery changes its ``status`` and ``next_attempt_at``,
so it deleted the row's entry from ``ix_deliveries_due`` and ``ix_deliveries_endpoint_due``
and inserted a new one, which no query reads (every query through them asks for pending or
held deliveries), and both indexes grew with the history. Partial, as on PostgreSQL since
0016, the record only deletes. SQLite's planner matches a partial index to a query whose WHERE
holds one of the predicate's terms as written, so the predicate is said as two ORed equalities
(``status = 'pending'``, ``status = 'held'``), the forms the queries use, not as ``IN``.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, columns): as declared in ``store.tables``
_PARTIAL = (
    ("ix_deliveries_due", "status, next_attempt_at"),
    ("ix_deliveries_endpoint_due", "status, endpoint_id, next_attempt_at"),
)
_QUEUED = "status = 'pending' OR status = 'held'"


def upgrade() -> None:
    _rebuild(f" WHERE {_QUEUED}")


def downgrade() -> None:
    _rebuild("")


def _rebuild(where: str) -> None:
    """Drop both indexes and create them again with ``where`` (SQLite only)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, columns in _PARTIAL:
        op.execute(f"DROP INDEX {name}")
        op.execute(f"CREATE INDEX {name} ON deliveries ({columns}){where}")
