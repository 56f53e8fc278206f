"""Events committed as messages in the transaction of the change that causes them.

A job's events are committed with the report or the finish that makes them, the operational
events with the pause, the enable or the record of attempts: none is lost across a crash, and
none is sent for a change that rolled back. Each event becomes a message of its app and one
delivery per endpoint that subscribes to its type (``rules.messages.fan_out``), in two
statements for the whole batch whatever its size.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookwise.domain.ids import new_id
from hookwise.store.enqueue import held_or_pending
from hookwise.store.rules.messages import SUBSCRIBER_SQL, Event, fan_out
from hookwise.store.sql import Dialect, Tx, fetch

# (table and columns, values, their PostgreSQL types) of the rows inserted many at a time
_MESSAGES = (
    "messages (app_id, id, event_type, event_id, body, tags, job_id, created_at)",
    "$1, $2, $3, NULL, $4, '[]', $5, $6",
    ("text", "text", "text", "bytea", "text", "float8"),
)
# the endpoints an event may go to, with the status each delivery starts in (the message rule)
_STARTS = held_or_pending("endpoints", "'scheduled'")
_ENDPOINTS = (
    f"SELECT id, kind, events, {_STARTS} AS status FROM endpoints"
    f" WHERE app_id = $1 AND ({SUBSCRIBER_SQL} OR id = $2)"
)
_DELIVERIES = (
    "deliveries (app_id, id, message_id, endpoint_id, job_id, status, attempt_count, retry_base,"
    " trigger, next_attempt_at, created_at, updated_at)",
    "$1, $2, $3, $4, $5, $6, 0, 0, 'scheduled', $7, $7, $7",
    ("text", "text", "text", "text", "text", "text", "float8"),
)


def commit(
    dialect: Dialect,
    app_id: str,
    events: Sequence[Event],
    *,
    job_id: str | None = None,
    target: str | None = None,
) -> Tx[bool]:
    """Statements, in the caller's transaction: ``events`` as messages of ``app_id`` (of
    ``job_id``, if given) with their deliveries, ``target`` taking them all besides the
    subscribers; whether a delivery is due (pending, not held), to wake the workers for."""
    if not events:
        return False
    endpoints = yield fetch(_ENDPOINTS, app_id, target)
    yield dialect.insert_rows(
        *_MESSAGES, [(app_id, e.id, e.event_type, e.body, job_id, e.at) for e in events]
    )
    deliveries = fan_out(events, endpoints, target)
    if deliveries:
        yield dialect.insert_rows(
            *_DELIVERIES,
            [
                (app_id, new_id("dlv"), e.id, endpoint_id, job_id, status, e.at)
                for e, endpoint_id, status in deliveries
            ],
        )
    return any(status == "pending" for _, _, status in deliveries)
