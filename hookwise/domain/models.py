"""The resources of hookwise as frozen values.

The store returns these; the API turns them into JSON; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

Scope = Literal["admin", "app"]
EndpointStatus = Literal["active", "paused"]
DeliveryStatus = Literal["pending", "succeeded", "failed", "held", "canceled"]
AttemptStatus = Literal["succeeded", "failed"]
Trigger = Literal["scheduled", "manual", "test"]
EndpointKind = Literal["endpoint", "job_target"]

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


@dataclass(frozen=True, slots=True)
class DeliveryFilter:
    """Filters of the deliveries and attempts lists."""

    message_id: str | None = None
    endpoint_id: str | None = None
    status: str | None = None
    tag: str | None = None
    job_id: str | None = None
