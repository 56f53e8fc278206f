"""The schema, declared once in SQLAlchemy Core for Alembic and both backends.

Conventions that keep the schema shardable on the tenant (Citus, ``app_id`` as the
distribution column): every table that grows carries ``app_id`` first in its primary key and
every hot query filters by it. Timestamps are float seconds since the epoch (UTC) in both
dialects, so the hot path does no datetime conversion and attempts can be range-partitioned by
``started_at``. JSON is stored as text. There are no foreign keys: a distributed table cannot
keep them across shards, and deletes are done by the store in batches.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.sql.schema import SchemaItem

from hookwise.store.sql import QUEUED

metadata = MetaData()


def _tenant_table(name: str, *items: SchemaItem, id_length: int = 40) -> Table:
    """A table that grows with its tenant: ``app_id`` first in its primary key (the
    distribution column on Citus), then the row's ``id``."""
    return Table(
        name,
        metadata,
        Column("app_id", String(40), nullable=False),
        Column("id", String(id_length), nullable=False),
        *items,
        PrimaryKeyConstraint("app_id", "id"),
    )


def _refs() -> list[Column[str]]:
    """The columns that tie a delivery or an attempt to its message, endpoint and job."""
    return [
        Column("message_id", String(40), nullable=False),
        Column("endpoint_id", String(40), nullable=False),
        Column("job_id", String(64), nullable=True),
    ]


def _partial(name: str, *columns: str, where: str) -> Index:
    """An index of only the rows ``where`` holds, on both databases."""
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


# facts about the database itself, one row each (e.g. the secret key check value)
meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("scope", String(10), nullable=False),
    Column("app_id", String(40), nullable=True, index=True),
    Column("created_at", Float, nullable=False),
)

apps = Table(
    "apps",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("uid", String(200), nullable=True, unique=True),
    Column("name", String(200), nullable=False),
    Column("metadata", Text, nullable=False, server_default="{}"),
    Column("results_inline_budget", Integer, nullable=False, server_default="262144"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # signs every one-off webhook_url of the app's jobs (encrypted like endpoint secrets)
    Column("job_secret", Text, nullable=True),
    Column("job_previous_secrets", Text, nullable=False, server_default="[]"),
    # the payload_format new endpoints get when they name none ('envelope' or 'raw')
    Column("payload_format", String(10), nullable=False, server_default="envelope"),
    # how the app's job webhooks look (JSON, jobs.profile.JobProfile; NULL = hookwise's shape)
    Column("job_profile", Text, nullable=True),
    # at most this many items per job (NULL = no cap)
    Column("max_items_per_job", Integer, nullable=True),
    # the customer portal's brand: the name in its header and the header's colour (#rrggbb)
    Column("portal_name", String(100), nullable=True),
    Column("portal_color", String(7), nullable=True),
)

event_types = Table(
    "event_types",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("schema", Text, nullable=True),
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

endpoints = _tenant_table(
    "endpoints",
    Column("url", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("events", Text, nullable=False, server_default="[]"),
    Column("secret", Text, nullable=False),
    Column("previous_secrets", Text, nullable=False, server_default="[]"),
    Column("retry_schedule", Text, nullable=False),
    Column("timeout_seconds", Float, nullable=False),
    Column("rate_limit_per_second", Float, nullable=True),
    Column("max_in_flight", Integer, nullable=False),
    Column("headers", Text, nullable=False, server_default="{}"),
    Column("status", String(10), nullable=False),
    Column("paused_reason", Text, nullable=True),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("kind", String(16), nullable=False, server_default="endpoint"),
    Column("payload_format", String(10), nullable=False, server_default="envelope"),
    Column("rl_next_at", Float, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_endpoints_id", "id", unique=True),
)

messages = _tenant_table(
    "messages",
    Column("event_type", String(256), nullable=False),
    Column("event_id", String(256), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("job_id", String(64), nullable=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("app_id", "event_id", name="uq_messages_event_id"),
    Index("ix_messages_created", "created_at"),
)

message_tags = Table(
    "message_tags",
    metadata,
    Column("app_id", String(40), nullable=False),
    Column("tag", String(256), nullable=False),
    Column("message_id", String(40), nullable=False),
    PrimaryKeyConstraint("app_id", "tag", "message_id"),
)

_QUEUED = text("status IN ('pending', 'held')")
_QUEUED_SQLITE = text(QUEUED)  # the same rows, as SQLite's planner matches them (``sql``)

deliveries = _tenant_table(
    "deliveries",
    *_refs(),
    Column("status", String(10), nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    Column("retry_base", Integer, nullable=False, server_default="0"),
    Column("trigger", String(10), nullable=False, server_default="scheduled"),
    Column("next_attempt_at", Float, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("last_attempt_at", Float, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # only the deliveries still to be attempted (migrations 0016 and 0019): a finished
    # delivery's record adds no entry to either; every query through them says which status
    Index(
        "ix_deliveries_due",
        "status",
        "next_attempt_at",
        postgresql_where=_QUEUED,
        sqlite_where=_QUEUED_SQLITE,
    ),
    Index(
        "ix_deliveries_endpoint_due",
        "status",
        "endpoint_id",
        "next_attempt_at",
        postgresql_where=_QUEUED,
        sqlite_where=_QUEUED_SQLITE,
    ),
    # ``id`` last: a list by message or job is read in the index's order (newest first), not
    # along the primary key past every other row of the app
    Index("ix_deliveries_message", "app_id", "message_id", "id"),
    Index("ix_deliveries_endpoint", "app_id", "endpoint_id", "status", "id"),
    _partial("ix_deliveries_job", "app_id", "job_id", "id", where="job_id IS NOT NULL"),
    _partial("ix_deliveries_leased", "endpoint_id", where="lease_owner IS NOT NULL"),
)

attempts = _tenant_table(
    "attempts",
    Column("delivery_id", String(40), nullable=False),
    *_refs(),
    Column("attempt_number", Integer, nullable=False),
    Column("status", String(10), nullable=False),
    Column("response_status_code", Integer, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("error_message", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("url", Text, nullable=False),
    Column("trigger", String(10), nullable=False),
    # the body this attempt sent: 'raw' when the message's payload alone, NULL as stored
    Column("payload_format", String(10), nullable=True),
    # what went over the wire: ``Name: value`` lines (delivery.wire_headers), NULL: unknown
    Column("request_headers", Text, nullable=True),
    Column("response_headers", Text, nullable=True),
    Index("ix_attempts_message", "app_id", "message_id", "id"),  # ``id``: as for deliveries
    # an endpoint's attempts by time, outcomes and durations read from the index (its health)
    Index(
        "ix_attempts_endpoint_health",
        "app_id",
        "endpoint_id",
        "started_at",
        "status",
        "duration_ms",
    ),
    _partial("ix_attempts_job", "app_id", "job_id", "id", where="job_id IS NOT NULL"),
    Index("ix_attempts_started", "started_at"),
)

jobs = _tenant_table(
    "jobs",
    Column("type", String(200), nullable=False),
    Column("status", String(32), nullable=False),
    Column("total", Integer, nullable=True),
    Column("webhook_url", Text, nullable=True),
    Column("webhook_endpoint_id", String(40), nullable=True),
    Column("item_events", Boolean, nullable=False, server_default=text("false")),
    Column("custom", Text, nullable=False, server_default="{}"),
    Column("metadata", Text, nullable=False, server_default="{}"),
    # extra top-level fields of every event of the job (JSON object, e.g. lead_list_id)
    Column("fields", Text, nullable=False, server_default="{}"),
    Column("summary", Text, nullable=True),
    Column("succeeded", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("completed_at", Float, nullable=True),
    Index("ix_jobs_created", "app_id", "created_at"),
    id_length=64,
)

job_results = Table(
    "job_results",
    metadata,
    Column("app_id", String(40), nullable=False),
    Column("job_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("item_id", String(256), nullable=False),
    Column("status", String(10), nullable=False),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("app_id", "job_id", "item_id"),
    Index("ix_job_results_seq", "app_id", "job_id", "seq", unique=True),
)

# bulk changes that run in the background in bounded steps (``store.operations``): one row
# each, so that a release survives a restart and is finished by whichever process runs next
operations = _tenant_table(
    "operations",
    Column("kind", String(16), nullable=False),
    Column("endpoint_id", String(40), nullable=True),
    Column("status", String(10), nullable=False),
    Column("done", Integer, nullable=False, server_default="0"),
    Column("total", Integer, nullable=True),
    Column("since", Float, nullable=True),  # a recover, a resend: deliveries created since
    Column("after_id", String(40), nullable=True),  # the last delivery stepped over
    Column("until", Float, nullable=True),  # a resend: deliveries created until
    Column("event_type", String(256), nullable=True),  # a resend: of this event type only
    Column("delivery_status", String(10), nullable=True),  # a resend: failed, or all finished
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    _partial("ix_operations_running", "created_at", where="status = 'running'"),
    Index("ix_operations_endpoint", "app_id", "endpoint_id", "status"),
)

# the request inspector (``store.inspector``): bins that record what is sent to them. A bin is
# nobody's tenant data (an admin key may own one), so its id leads the captures' key; both go
# when the bin expires.
inspector_bins = Table(
    "inspector_bins",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("app_id", String(40), nullable=True),  # the owning key's app; NULL: an admin's
    Column("name", String(200), nullable=True),
    Column("status", Integer, nullable=False),  # the answer given to every request
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_inspector_bins_expires", "expires_at"),
)

inspector_captures = Table(
    "inspector_captures",
    metadata,
    Column("bin_id", String(40), nullable=False),
    Column("id", String(40), nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("headers", Text, nullable=False),  # JSON [[name, value], …] in the order received
    Column("body", LargeBinary, nullable=False),
    Column("body_size", Integer, nullable=False),  # as received, before any cut
    Column("truncated", Boolean, nullable=False),
    Column("received_at", Float, nullable=False),
    PrimaryKeyConstraint("bin_id", "id"),
)

# the console's sessions (``store.sessions``): the cookie holds a random token, this its SHA-256.
# ``kind`` is admin, app (signed in with an app key) or portal (opened by a portal link); a
# session signed in with a key names it, so revoking the key ends the session.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("app_id", String(40), nullable=True),  # NULL: an admin's
    Column("key_id", String(40), nullable=True),  # NULL: a portal session
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),  # the hard end, whatever the activity
    Index("ix_console_sessions_key", "key_id"),
    Index("ix_console_sessions_app", "app_id"),
    Index("ix_console_sessions_expires", "expires_at"),
)

# single-use links into one app's portal, stored hashed; ``used_at`` is set when one is opened
portal_links = Table(
    "portal_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("app_id", String(40), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("used_at", Float, nullable=True),
    Index("ix_portal_links_app", "app_id"),
    Index("ix_portal_links_expires", "expires_at"),
)
