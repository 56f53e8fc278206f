"""The inbox: where a received webhook is made durable before it is ACKed.

An item moves ``received → processing → done``; a handler failure puts it back to
``received`` with a later ``next_try_at``, and one that keeps failing ends ``dead``.
``processing`` is a lease: a processor that dies leaves ``next_try_at`` in the past, and the
item is claimed again. The dedupe key is unique, so a webhook delivered twice is stored once.

Expectations (``Receiver.expect``) live in the same database: a job the app started and whose
webhook is due by a deadline; the reconciler polls those that are overdue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from hookwise.domain.errors import InvalidInput


class State(StrEnum):
    """Where an inbox item is in its life."""

    RECEIVED = "received"
    PROCESSING = "processing"
    DONE = "done"
    DEAD = "dead"


def to_datetime(epoch: float | None) -> datetime | None:
    """An aware UTC datetime from epoch seconds (None stays None)."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class NewItem:
    """A request to persist: raw body and headers, keyed for dedupe."""

    dedupe_key: str
    event_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    source: str = "webhook"


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One stored webhook (or polled result) and its processing state."""

    id: str
    dedupe_key: str
    event_type: str
    source: str
    body: bytes
    headers: dict[str, str]
    state: State
    attempts: int
    last_error: str | None
    received_at: datetime
    next_try_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Failure:
    """A failed handler run: retry at ``next_try_at``, or dead-letter when it is None."""

    item_id: str
    attempts: int
    error: str
    next_try_at: datetime | None


@dataclass(frozen=True, slots=True)
class Expectation:
    """A job the app expects a webhook for; polled at ``status_url`` once overdue."""

    key: str
    status_url: str
    event_type: str | None
    deadline: datetime
    next_poll_at: datetime
    polls: int
    last_error: str | None
    resolved_at: datetime | None
    created_at: datetime


class Inbox(Protocol):
    """Storage for received webhooks: the domain operations a receiver and processor need.

    Driver errors come out as ``InboxUnavailable``. Times are aware UTC datetimes.
    """

    async def open(self) -> None:
        """Connect and create the tables if they do not exist yet (idempotent)."""

    async def close(self) -> None:
        """Release connections and threads."""

    async def insert(self, item: NewItem) -> str | None:
        """Persist ``item`` durably; its new id, or None when the dedupe key is already stored."""

    async def claim(self, limit: int, lease_seconds: float) -> list[InboxItem]:
        """Lease up to ``limit`` due items (``attempts`` is incremented) for processing."""

    async def complete(self, done: Sequence[tuple[str, int]]) -> None:
        """Mark items ``done``; each pair is (item id, attempts as claimed)."""

    async def fail(self, failures: Sequence[Failure]) -> None:
        """Record failed runs: back to ``received`` at ``next_try_at``, or ``dead``."""

    async def get(self, item_id: str) -> InboxItem | None:
        """One item by id or by dedupe key."""

    async def items(self, state: State | None = None, limit: int = 100) -> list[InboxItem]:
        """Items in ``state`` (all when None), oldest first."""

    async def counts(self) -> dict[State, int]:
        """How many items are in each state."""

    async def retry(self, ids: Sequence[str] | None = None) -> int:
        """Move ``dead`` items (the given ids, or all) back to ``received`` with zero attempts."""

    async def prune(self, before: datetime) -> int:
        """Delete ``done`` items last updated before ``before``, and settled expectations."""

    async def expect(
        self, key: str, status_url: str, deadline: datetime, event_type: str | None = None
    ) -> None:
        """Register (or update) an expected job, due by ``deadline``."""

    async def expectation(self, key: str) -> Expectation | None:
        """The expectation stored under ``key``."""

    async def claim_overdue(self, limit: int, lease_seconds: float) -> list[Expectation]:
        """Lease up to ``limit`` overdue expectations whose key has no item yet."""

    async def settle(self, key: str, *, error: str | None, resolved: bool) -> None:
        """Record a poll: resolved (a result was fed in), or still pending with ``error``."""

    async def wait(self, timeout: float) -> None:
        """Return when an item may have arrived (an insert here, or a notification), or later."""


def open_inbox(url: str) -> Inbox:
    """An inbox for ``sqlite:///path/to/inbox.db`` or ``postgresql://user@host:port/db``."""
    if url.startswith("sqlite:///"):
        from hookwise.receiver.sqlite_inbox import SqliteInbox

        return SqliteInbox(url[len("sqlite:///") :])
    if url.startswith(("postgresql://", "postgres://")):
        from hookwise.receiver.postgres_inbox import PostgresInbox

        return PostgresInbox(url)
    raise InvalidInput("inbox", "must be sqlite:///path or postgresql://user@host:port/db")
