"""The resources of hookwise as frozen values.

The store returns these; the API turns them into JSON; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from hookwise.domain.envelope import PayloadFormat

T = TypeVar("T")

Scope = Literal["admin", "app"]
EndpointStatus = Literal["active", "paused"]
DeliveryStatus = Literal["pending", "succeeded", "failed", "held", "canceled"]
AttemptStatus = Literal["succeeded", "failed"]
Trigger = Literal["scheduled", "manual", "test"]
EndpointKind = Literal["endpoint", "job_target", "relay"]

DELIVERY_STATUSES: tuple[str, ...] = ("pending", "succeeded", "failed", "held", "canceled")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next (None at the end)."""

    data: list[T]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's stored record (the key itself is only ever shown once)."""

    id: str
    name: str
    prefix: str
    scope: Scope
    app_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class App:
    """A tenant: one customer of the sender."""

    id: str
    uid: str | None
    name: str
    metadata: dict[str, Any]
    results_inline_budget: int
    created_at: datetime
    updated_at: datetime
    payload_format: PayloadFormat = "envelope"
    # how its job webhooks look (JSON, hookwise.jobs.JobProfile; None: hookwise's shape)
    job_profile: dict[str, Any] | None = None
    max_items_per_job: int | None = None  # None: no cap
    portal_name: str | None = None  # the customer portal's header (None: the app's name)
    portal_color: str | None = None  # the portal header's colour, #rrggbb (None: hookwise's)


@dataclass(frozen=True, slots=True)
class EventType:
    """An entry of the event-type catalog."""

    name: str
    description: str
    schema: dict[str, Any] | None
    archived: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A URL subscribed to event types, with its delivery settings and health."""

    id: str
    app_id: str
    url: str
    description: str
    events: tuple[str, ...]
    secret: str
    previous_secrets: tuple[tuple[str, datetime], ...]
    retry_schedule: tuple[float, ...]
    timeout_seconds: float
    rate_limit_per_second: float | None
    max_in_flight: int
    headers: dict[str, str]
    status: EndpointStatus
    paused_reason: str | None
    consecutive_failures: int
    kind: EndpointKind
    created_at: datetime
    updated_at: datetime
    payload_format: PayloadFormat = "envelope"

    def valid_secrets(self, now: datetime) -> list[str]:
        """The current secret first, then older ones still inside their grace period."""
        return [self.secret] + [s for s, until in self.previous_secrets if until > now]


@dataclass(frozen=True, slots=True)
class Message:
    """An accepted event. ``body`` is the exact JSON delivered on every attempt."""

    id: str
    app_id: str
    event_type: str
    event_id: str | None
    body: bytes
    tags: tuple[str, ...]
    job_id: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message to one target, with its delivery state."""

    id: str
    app_id: str
    message_id: str
    endpoint_id: str
    job_id: str | None
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP attempt: the audit log."""

    id: str
    app_id: str
    delivery_id: str
    message_id: str
    endpoint_id: str
    job_id: str | None
    attempt_number: int
    status: AttemptStatus
    response_status_code: int | None
    response_body: str | None
    error_message: str | None
    duration_ms: float
    started_at: datetime
    url: str
    trigger: Trigger
    #: "raw" when the attempt sent the message's payload alone; None: the body as stored
    payload_format: PayloadFormat | None = None
    #: the request's head as sent (custom header values redacted), ``Name: value`` lines
    request_headers: str | None = None
    #: the answer's headers (at most 4 KiB), ``Name: value`` lines
    response_headers: str | None = None


@dataclass(frozen=True, slots=True)
class NewEndpoint:
    """What the API validated for a new endpoint."""

    app_id: str
    url: str
    secret: str
    description: str = ""
    events: tuple[str, ...] = ()
    retry_schedule: tuple[float, ...] = (1, 2, 4, 8, 16)
    timeout_seconds: float = 10.0
    rate_limit_per_second: float | None = None
    max_in_flight: int = 64
    headers: dict[str, str] = field(default_factory=dict)
    status: EndpointStatus = "active"
    kind: EndpointKind = "endpoint"
    payload_format: PayloadFormat = "envelope"


@dataclass(frozen=True, slots=True)
class NewMessage:
    """What the API validated for a new message."""

    app_id: str
    event_type: str
    body: bytes
    event_id: str | None = None
    tags: tuple[str, ...] = ()
    job_id: str | None = None
    only_endpoint_id: str | None = None
    extra_endpoint_ids: tuple[str, ...] = ()
    trigger: Trigger = "scheduled"
    message_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """Everything a worker needs to make one attempt, read in the claim statement."""

    delivery_id: str
    app_id: str
    message_id: str
    endpoint_id: str
    job_id: str | None
    attempt_count: int
    retry_base: int
    trigger: Trigger
    body: bytes
    url: str
    secrets: tuple[str, ...]
    headers: dict[str, str]
    timeout_seconds: float
    retry_schedule: tuple[float, ...]
    rate_limit_per_second: float | None
    msg_timestamp: int
    #: "raw" when ``body`` is the message's payload alone; None: the body as stored
    payload_format: PayloadFormat | None = None
    #: the endpoint's ``max_in_flight`` when claimed: a worker never has more of its attempts
    #: under way at once, even holding more leases (``WorkerConfig.ahead``); None: not capped
    max_in_flight: int | None = None


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """The outcome of one attempt and the delivery's next state, to be recorded."""

    claimed: ClaimedDelivery
    attempt_id: str
    succeeded: bool
    status_code: int | None
    response_body: str | None
    error_message: str | None
    duration_ms: float
    started_at: datetime
    next_attempt_at: datetime | None
    pause_reason: str | None = None
    counts_as_failure: bool = True
    request_headers: str | None = None
    response_headers: str | None = None


def attempt_of(result: AttemptResult) -> Attempt:
    """The Attempt row a recorded result became (for APIs that answer with it)."""
    c = result.claimed
    return Attempt(
        id=result.attempt_id,
        app_id=c.app_id,
        delivery_id=c.delivery_id,
        message_id=c.message_id,
        endpoint_id=c.endpoint_id,
        job_id=c.job_id,
        attempt_number=c.attempt_count + 1,
        status="succeeded" if result.succeeded else "failed",
        response_status_code=result.status_code,
        response_body=result.response_body,
        error_message=result.error_message,
        duration_ms=result.duration_ms,
        started_at=result.started_at,
        url=c.url,
        trigger=c.trigger,
        payload_format=c.payload_format,
        request_headers=result.request_headers,
        response_headers=result.response_headers,
    )


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Filters of the deliveries and attempts lists."""

    message_id: str | None = None
    endpoint_id: str | None = None
    status: str | None = None
    tag: str | None = None
    job_id: str | None = None


# jobs ------------------------------------------------------------------------------------------

JobStatus = Literal[
    "running", "completed", "completed_with_errors", "failed", "canceled", "insufficient_credits"
]
FinalJobStatus = Literal[
    "completed", "completed_with_errors", "failed", "canceled", "insufficient_credits"
]
ItemStatus = Literal["succeeded", "failed"]


@dataclass(frozen=True, slots=True)
class Job:
    """A unit of async work the sender does and hookwise tracks and reports.

    ``custom`` is the customer's pass-through (strings only), ``metadata`` the sender's own.
    ``summary`` is set when the job finishes: the counts plus the sender's counters.
    """

    id: str
    app_id: str
    type: str
    status: JobStatus
    total: int | None
    webhook_url: str | None
    webhook_endpoint_id: str | None
    item_events: bool
    custom: dict[str, str]
    metadata: dict[str, Any]
    summary: dict[str, Any] | None
    succeeded: int
    failed: int
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    fields: dict[str, Any] = field(default_factory=dict)  # extra top-level fields of its events

    @property
    def reported(self) -> int:
        """How many items have been reported (each is one result row)."""
        return self.succeeded + self.failed

    @property
    def finished(self) -> bool:
        """True once the job has a final status."""
        return self.status != "running"


@dataclass(frozen=True, slots=True)
class JobItem:
    """One finished item as reported by the sender; result and error are JSON text."""

    id: str
    status: ItemStatus
    result_json: str | None = None
    error_json: str | None = None


@dataclass(frozen=True, slots=True)
class JobResult:
    """A stored item result; ``seq`` orders a job's results (1, 2, … in report order)."""

    job_id: str
    seq: int
    id: str
    status: ItemStatus
    result_json: str | None
    error_json: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewJob:
    """What the API validated for a new job."""

    app_id: str
    id: str
    type: str
    total: int | None = None
    webhook_url: str | None = None
    webhook_retry_schedule: tuple[float, ...] = (1, 2, 4, 8, 16)
    webhook_timeout_seconds: float = 10.0
    item_events: bool = False
    custom: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobCreated:
    """The result of ``create_job``: the job and whether this call created it."""

    job: Job
    created: bool


@dataclass(frozen=True, slots=True)
class ItemsReported:
    """The result of ``report_job_items``: the job after the batch, what was stored, and the
    ids skipped because they had been reported before (a retried batch)."""

    job: Job
    accepted: int
    duplicates: tuple[str, ...]
    message_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class JobFinish:
    """How to finish a job: its final status, the sender's counters, and how to build the
    completion event (the absolute URL of the results and the app's inline budget)."""

    status: FinalJobStatus
    summary: dict[str, Any]
    results_endpoint: str
    inline_budget: int


@dataclass(frozen=True, slots=True)
class JobFinished:
    """The result of ``finish_job``: the finished job and its completion event."""

    job: Job
    message_id: str
    event_type: str
    results_inline: int
    results_truncated: int
