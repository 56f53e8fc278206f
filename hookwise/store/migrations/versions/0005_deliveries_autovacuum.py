"""deliveries: vacuumed after 1 % of its rows changed, not 20 % (PostgreSQL)

``deliveries`` is a queue: every delivery is updated when claimed and again when recorded, and
the claim walks ``ix_deliveries_endpoint_due`` from the oldest due time, which is where the
entries of delivered rows sit until a vacuum removes them. With PostgreSQL's default (vacuum once
20 % of the table is dead) a backlog of a million deliveries drains 200,000 before the first
vacuum (the backlog figure counted 300,000 dead rows after its 60 s drain, with no vacuum yet),
and claims step over ever more of them meanwhile. A 60 s run cannot show the difference (the
autovacuum launcher visits a database once a minute); a service draining for hours does.
SQLite needs no such setting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE deliveries SET (autovacuum_vacuum_scale_factor = 0.01,"
            " autovacuum_analyze_scale_factor = 0.02)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE deliveries RESET (autovacuum_vacuum_scale_factor,"
            " autovacuum_analyze_scale_factor)"
        )
