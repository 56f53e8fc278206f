"""The store's roles: what each part of hookwise asks of the database, one small class each.

A consumer asks only for the role it uses: the API's resource routes for ``Resources``, the
worker for a ``Queue``, the job routes for ``Jobs``. ``Store`` bundles the roles of one database
with its lifecycle. Eight roles are written once for both databases over a ``Handle``
(``resources``, ``messages``, ``jobs``, ``retention``, ``keyring_rows``, ``operations``,
``inspector``, ``sessions``): each class is its own contract. The queue (``queue.SqlQueue``,
over either database's hand-tuned hot path) meets the ``Queue`` protocol its consumer declares,
the worker's (``hookwise.delivery.queue``). Operations are named for what they mean
(``enqueue_message``, ``claim_due``, ``record_attempts``), not for SQL. Times are ``float``
seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from hookwise.domain.models import (
    Message,
)

if TYPE_CHECKING:  # the role classes import this module's value types
    from hookwise.store.inspector import Inspector
    from hookwise.store.jobs import Jobs
    from hookwise.store.keyring_rows import Keyring
    from hookwise.store.messages import Messages
    from hookwise.store.operational import OperationalEvents
    from hookwise.store.operations import Operations
    from hookwise.store.queue import SqlQueue
    from hookwise.store.relays import Relays
    from hookwise.store.resources import Resources
    from hookwise.store.retention import Retention
    from hookwise.store.sessions import Sessions

FinishedIds = Callable[[], Collection[str]]
"""The ids of deliveries a worker leases whose attempts are over but not yet recorded."""


class Turn(Protocol):
    """A record-and-claim's place in line behind the previous one (``delivery.turns``): the
    store passes its three points in order, or all of them before it writes when its writes
    cannot overlap."""

    async def before_record(self) -> None: ...

    def recorded(self) -> None: ...

    async def before_claim(self) -> None: ...

    def end(self) -> None: ...


class NoTurn:
    """The turn of a write that waits for nobody."""

    async def before_record(self) -> None:
        return None

    def recorded(self) -> None:
        return None

    async def before_claim(self) -> None:
        return None

    def end(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Enqueued:
    """The result of ``enqueue_message``: the message and whether it is new (not a duplicate)."""

    message: Message
    created: bool
    delivery_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Counts for ``/metrics`` and the dashboard."""

    pending: int
    due: int
    held: int
    in_flight: int


@runtime_checkable
class Store(Protocol):
    """One database's roles, and its lifecycle."""

    resources: Resources
    messages: Messages
    queue: SqlQueue
    jobs: Jobs
    retention: Retention
    keyring: Keyring
    operations: Operations
    operational: OperationalEvents
    inspector: Inspector
    relays: Relays
    sessions: Sessions

    async def open(self) -> None:
        """Connect (and check the schema is migrated)."""

    async def close(self) -> None:
        """Release every connection."""

    async def ping(self) -> None:
        """Raise StoreUnavailable when the database cannot be reached."""
