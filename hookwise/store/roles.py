"""The store's roles: what each part of hookwise asks of the database, one small protocol each.

A consumer asks only for the role it uses: the API's resource routes for ``Resources``, the
worker for a ``Queue``, the job routes for ``Jobs``. ``Store`` bundles the roles of one database
with its lifecycle. Operations are named for what they mean (``enqueue_message``,
``claim_due``, ``record_attempts``), not for SQL. Times are ``float`` seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from hookwise.domain.models import (
    ApiKey,
    App,
    Attempt,
    AttemptResult,
    ClaimedDelivery,
    Delivery,
    DeliveryFilter,
    Endpoint,
    EventType,
    ItemsReported,
    Job,
    JobCreated,
    JobFinish,
    JobFinished,
    JobItem,
    JobResult,
    Message,
    NewEndpoint,
    NewJob,
    NewMessage,
    Page,
)

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


class Resources(Protocol):
    """The slow-changing resources: api keys, apps, event types and endpoints."""

    # api keys --------------------------------------------------------------------------
    async def create_api_key(
        self, *, key_id: str, name: str, key_hash: str, prefix: str, app_id: str | None
    ) -> ApiKey: ...

    async def get_api_key_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def list_api_keys(
        self, *, app_id: str | None, limit: int, cursor: str | None
    ) -> Page[ApiKey]: ...

    async def delete_api_key(self, key_id: str) -> ApiKey: ...

    # apps ------------------------------------------------------------------------------
    async def create_app(
        self, *, name: str, uid: str | None, metadata: dict[str, Any], results_inline_budget: int
    ) -> App: ...

    async def get_app(self, app_id_or_uid: str) -> App: ...

    async def list_apps(self, *, limit: int, cursor: str | None) -> Page[App]: ...

    async def update_app(self, app_id: str, changes: dict[str, Any]) -> App: ...

    async def delete_app(self, app_id: str) -> None:
        """Delete the app and everything it owns."""

    # event types -----------------------------------------------------------------------
    async def create_event_type(
        self, *, name: str, description: str, schema: dict[str, Any] | None
    ) -> EventType: ...

    async def get_event_type(self, name: str) -> EventType: ...

    async def list_event_types(
        self, *, limit: int, cursor: str | None, include_archived: bool
    ) -> Page[EventType]: ...

    async def update_event_type(self, name: str, changes: dict[str, Any]) -> EventType: ...

    async def delete_event_type(self, name: str) -> None: ...

    # endpoints -------------------------------------------------------------------------
    async def create_endpoint(self, new: NewEndpoint) -> Endpoint: ...

    async def get_endpoint(self, app_id: str, endpoint_id: str) -> Endpoint: ...

    async def list_endpoints(
        self, app_id: str, *, limit: int, cursor: str | None, kind: str = "endpoint"
    ) -> Page[Endpoint]: ...

    async def update_endpoint(
        self, app_id: str, endpoint_id: str, changes: dict[str, Any]
    ) -> Endpoint:
        """Change fields. ``status: paused`` holds pending deliveries; ``status: active``
        resets ``consecutive_failures`` and makes held deliveries due now."""

    async def delete_endpoint(self, app_id: str, endpoint_id: str) -> None:
        """Delete it; its pending and held deliveries become ``canceled``."""

    async def rotate_endpoint_secret(
        self, app_id: str, endpoint_id: str, new_secret: str, old_valid_until: float
    ) -> Endpoint: ...


class Messages(Protocol):
    """Accepting messages, and the log of their deliveries and attempts."""

    # messages --------------------------------------------------------------------------
    async def enqueue_message(self, new: NewMessage) -> Enqueued:
        """Commit the message and one delivery per matching endpoint in one transaction.

        Deduplicates on ``(app_id, event_id)``: a repeat returns the first message with
        ``created=False``. Deliveries to paused endpoints are created ``held``.
        """

    async def get_message(self, app_id: str, message_id: str) -> Message: ...

    async def list_messages(
        self,
        app_id: str,
        *,
        limit: int,
        cursor: str | None,
        event_type: str | None = None,
        tag: str | None = None,
        job_id: str | None = None,
    ) -> Page[Message]: ...

    async def resend_message(
        self, app_id: str, message_id: str, endpoint_id: str | None = None
    ) -> int:
        """Make the message's deliveries due now with a fresh schedule (trigger ``manual``)."""

    # deliveries and attempts -----------------------------------------------------------
    async def get_delivery(self, app_id: str, delivery_id: str) -> Delivery: ...

    async def list_deliveries(
        self, app_id: str, f: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Delivery]: ...

    async def list_attempts(
        self, app_id: str, f: DeliveryFilter, *, limit: int, cursor: str | None
    ) -> Page[Attempt]: ...

    async def get_attempt(self, app_id: str, attempt_id: str) -> Attempt: ...

    async def recover_endpoint(self, app_id: str, endpoint_id: str, since: float) -> int:
        """Re-queue the endpoint's failed deliveries created since ``since``; return how many."""


class Queue(Protocol):
    """The delivery engine's hot path: claim, record, release, lease and wake."""

    #: How many record-and-claim transactions a worker gains from keeping under way at once
    #: (taking turns, see ``WriteTurn``): 2 where a record can overlap the previous claim and
    #: commit (PostgreSQL), 1 where every write runs on one thread anyway (SQLite: a second
    #: would only wait, splitting the batches and yielding the writer to the API's inserts).
    overlapping_writes: int

    @property
    def lease_holder(self) -> str | None:
        """A prefix of worker ids whose leases are taken back as soon as their process is found
        gone (SQLite: ``holders``), or None where leases only expire (PostgreSQL)."""

    async def claim_due(
        self,
        *,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None = None,
    ) -> list[ClaimedDelivery]:
        """Lease up to ``limit`` due deliveries of active endpoints, oldest due first.

        A leased delivery is invisible to other claims until its lease expires (then it is due
        again: a dead worker loses nothing). No endpoint gets more attempts in flight, across
        all workers, than its ``max_in_flight``: its leased deliveries count, except those that
        ``finished`` names (asked for when the claim runs: deliveries ``worker_id`` still
        leases whose attempt is over but not yet recorded; a lease on one of them held by
        another worker still counts).
        """

    async def claim_delivery(
        self, app_id: str, delivery_id: str, *, worker_id: str, lease_seconds: float
    ) -> ClaimedDelivery | None:
        """Lease one given delivery now, whatever its endpoint status (test pings)."""

    async def record_attempts(self, results: Sequence[AttemptResult], *, pause_after: int) -> None:
        """Store attempts and move their deliveries on, in one transaction.

        Success resets the endpoint's failure counter; a failure increments it and pauses the
        endpoint (holding its pending deliveries) once it reaches ``pause_after``, or at once
        when ``pause_reason`` is set.
        """

    async def record_and_claim(
        self,
        results: Sequence[AttemptResult],
        *,
        pause_after: int,
        worker_id: str,
        limit: int,
        lease_seconds: float,
        finished: FinishedIds | None = None,
        turn: Turn | None = None,
    ) -> list[ClaimedDelivery]:
        """``record_attempts``, then ``claim_due`` in the same transaction, which sees the room
        the record freed: the worker's steady state, one round trip where it took two, with no
        moment at which that room sits unclaimed. ``finished`` is asked for after the record,
        right before the claim, so attempts that ended meanwhile free their room too. With a
        ``turn``, its three points are passed in order (a store whose writes cannot overlap
        passes them all before it writes)."""

    async def release(self, claims: Sequence[ClaimedDelivery], *, at: float) -> None:
        """Give leased deliveries back unattempted, due at ``at`` (rate limit, shutdown)."""

    async def reserve_send_slots(self, endpoint_id: str, count: int, per_second: float) -> float:
        """Reserve ``count`` sends to a rate-limited endpoint; return when the first may go.

        Slots are spaced ``1 / per_second`` apart across all workers.
        """

    async def next_due_at(self) -> float | None:
        """When the earliest pending delivery becomes due (None when there is none)."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new work may be due (a wake-up) or after ``timeout`` seconds."""

    async def queue_stats(self, app_id: str | None = None) -> QueueStats:
        """Counts of the queue: every app's, or one app's alone."""


class Jobs(Protocol):
    """Async jobs: their items, results, completion and the secret of their webhook_urls."""

    async def create_job(self, new: NewJob) -> JobCreated:
        """Commit a running job; for a ``webhook_url``, find or make its hidden ``job_target``
        endpoint (one per app, URL, retry schedule and timeout, signed with the app's job
        secret) in the same transaction. Idempotent on ``(app_id, id)``: a repeat returns the
        first job with ``created=False``."""

    async def get_job(self, app_id: str, job_id: str) -> Job: ...

    async def list_jobs(
        self,
        app_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
        type: str | None = None,
    ) -> Page[Job]:
        """The app's jobs, newest first."""

    async def report_job_items(
        self, app_id: str, job_id: str, items: Sequence[JobItem]
    ) -> ItemsReported:
        """Store a batch of finished items and update the counts, atomically; when the job asked
        for item events, commit one ``job.item_finished`` per new item in the same transaction.

        Items whose id is stored already are skipped (a retried batch). Conflict when the job
        is finished or the batch would go past its ``total``; NotFound for an unknown job.
        """

    async def finish_job(self, app_id: str, job_id: str, finish: JobFinish) -> JobFinished:
        """Set the final status and summary and commit the completion event (its results cut
        to the inline budget) in one transaction. Conflict when already finished."""

    async def list_job_results(
        self,
        app_id: str,
        job_id: str,
        *,
        limit: int,
        cursor: str | None,
        status: str | None = None,
    ) -> Page[JobResult]:
        """A job's results in report order; the cursor is the last ``seq`` seen."""

    async def job_secret(self, app_id: str) -> tuple[str, list[tuple[str, datetime]]]:
        """The secret that signs the app's job webhook_urls (made on first use), and older
        ones still valid after a rotation."""

    async def rotate_job_secret(
        self, app_id: str, new_secret: str, old_valid_until: float
    ) -> tuple[str, list[tuple[str, datetime]]]:
        """Replace the app's job secret on every job target; the old one keeps signing
        until ``old_valid_until``."""


class Retention(Protocol):
    """Deleting what is old enough, in batches."""

    async def prune(self, *, older_than: float, batch: int = 5000) -> int:
        """Delete attempts, and messages whose deliveries are all finished, older than
        ``older_than``; in batches; return how many rows went."""


class Keyring(Protocol):
    """The ``meta`` rows and the sealed columns that ``store.keyring``'s rules work on."""

    async def read_meta(self, name: str) -> str | None:
        """The ``meta`` row ``name``, or None."""

    async def init_meta(self, name: str, value: str) -> str:
        """Write ``meta`` row ``name`` unless it exists; the value it holds afterwards."""

    async def write_meta(self, values: Mapping[str, str | None]) -> None:
        """Set (None: delete) ``meta`` rows, in one transaction."""

    async def sealed_sample(self) -> str | None:
        """One encrypted secret of the database, if it has any."""

    async def reseal_secrets(
        self,
        table: str,
        after: str | None,
        limit: int,
        reseal: Callable[[Mapping[str, Any]], dict[str, Any]],
    ) -> list[str]:
        """Rewrite the sealed columns (``keyring.SEALED``) of ``table``'s next ``limit`` rows
        after id ``after`` with what ``reseal`` makes of them, in one transaction; answer their
        ids in order (none: the table is done)."""


@runtime_checkable
class Store(Protocol):
    """One database's roles, and its lifecycle."""

    resources: Resources
    messages: Messages
    queue: Queue
    jobs: Jobs
    retention: Retention
    keyring: Keyring

    async def open(self) -> None:
        """Connect (and check the schema is migrated)."""

    async def close(self) -> None:
        """Release every connection."""

    async def ping(self) -> None:
        """Raise StoreUnavailable when the database cannot be reached."""
