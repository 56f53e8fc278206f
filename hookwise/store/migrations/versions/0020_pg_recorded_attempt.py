"""recorded_attempt: a batch of attempts as one array parameter (PostgreSQL only)

The record statement took a batch as 25 parallel arrays (``unnest($1::text[], …)``), one per
column of ``attempts`` and of the move of its delivery. asyncpg encodes an array element by
element, asking of each whether it is itself an array (two ``isinstance`` checks against
abstract base classes): for 64 attempts ~350 µs of the worker's CPU. One array of this
composite type, a tuple per attempt, ~155 µs; PostgreSQL's time is unchanged
(bench/README.md has the figures).

Its fields: the columns of ``attempts`` (``rules.attempts.ATTEMPT_COLUMNS``, in that order),
then what the attempt does to its delivery (``rules.attempts.outcome``).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELDS = (
    "app_id text, id text, delivery_id text, message_id text, endpoint_id text, job_id text,"
    " attempt_number integer, status text, response_status_code integer, response_body text,"
    " error_message text, duration_ms double precision, started_at double precision, url text,"
    " trigger text, payload_format text, request_headers text, response_headers text,"
    " outcome text, next_attempt_at double precision"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE TYPE recorded_attempt AS ({_FIELDS})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TYPE recorded_attempt")
