"""Request bodies (validated by pydantic: a bad field is a 422 that names it) and the shapes
of answers for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from hookwise.domain import json_value
from hookwise.domain.errors import InvalidInput
from hookwise.domain.text import NUL, NUL_REFUSED


def refuse_nul(field: str, value: str) -> None:
    """InvalidInput naming ``field`` when ``value`` holds the NUL character (path and query
    parameters: PostgreSQL's text type cannot hold it, so no stored id or name does)."""
    if NUL in value:
        raise InvalidInput(field, NUL_REFUSED)


UID = r"^[a-zA-Z0-9_.-]+$"
# Declared in the OpenAPI document (so that what looks valid to a client is valid) and checked
# by the domain, whose errors say what is expected: hookwise.domain.events for the names (a test
# holds the two to the same answers), hookwise.egress.ssrf for the URLs.
EVENT_TYPE: JsonDict = {"pattern": r"^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$"}
EVENT_FILTER: JsonDict = {"pattern": r"^([a-zA-Z0-9_-]+\.)*([a-zA-Z0-9_-]+|\*)$"}
WEB_URL: JsonDict = {"format": "uri", "pattern": "^https?://"}


class Input(BaseModel):
    """A request body: unknown fields are refused, and so is the NUL character in its text
    fields (PostgreSQL's text type cannot hold it; refused on every store alike). Free JSON
    values (payloads, metadata) may hold it: they are stored as JSON, where it is escaped.
    Every value must read back as it was written (``hookwise.domain.json_value``): too deep or
    a lone surrogate is a 400 (not JSON the API takes), a number out of range a 422.
    Types are strict: ``"1"`` is not a number, ``true`` not a number, ``0`` not a boolean (an
    integer is still a number where a float is asked)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    nullable: ClassVar[frozenset[str] | None] = None
    """Fields that may be sent as null; None: any field (null means "not given")."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            if cls.nullable is not None and info.field_name not in cls.nullable:
                raise PydanticCustomError("null", "cannot be null")
            return value
        if isinstance(value, BaseModel):
            return value  # a nested body validates itself
        try:
            json_value.check(value)
        except json_value.JsonValueError as exc:
            kind = "json_invalid" if exc.kind != "number" else "json_value"
            raise PydanticCustomError(
                kind, "{reason}", {"reason": exc.reason, "where": exc.where}
            ) from None
        if info.field_name and cls.model_fields[info.field_name].annotation is Any:
            return value  # free JSON (a payload, an item's result), whatever its shape
        if (isinstance(value, str) and NUL in value) or (
            isinstance(value, list) and any(isinstance(v, str) and NUL in v for v in value)
        ):
            raise ValueError(NUL_REFUSED)
        return value


class Patch(Input):
    """A PATCH body: a field sent as ``null`` is a 422 naming it, unless ``nullable`` lists it
    (where null means something: clear the uid, drop the rate limit, …)."""

    nullable: ClassVar[frozenset[str] | None] = frozenset()


class KeyIn(Input):
    name: str = Field(min_length=1, max_length=200)
    app_id: str | None = Field(None, max_length=200, description="no app_id = an admin key")


class KeyCreated(BaseModel):
    id: str
    key: str = Field(description="shown only in this answer")
    scope: Literal["admin", "app"]
    app_id: str | None
    name: str


JOB_PROFILE = "how the app's job webhooks look (docs/how-to/jobs.md); null: hookwise's own shape"
MAX_ITEMS = "at most this many items per job (a 422 past it); null: no cap"
COLOR = r"^#[0-9a-fA-F]{6}$"
PORTAL_NAME = "the name the customer portal shows in its header; null: the app's name"
PORTAL_COLOR = "the customer portal header's colour, #rrggbb; null: hookwise's own"


class AppIn(Input):
    name: str = Field(min_length=1, max_length=200)
    uid: str | None = Field(None, min_length=1, max_length=200, pattern=UID)
    metadata: dict[str, Any] = Field(default_factory=dict)
    results_inline_budget: int = Field(262_144, ge=1024, le=16 * 1024 * 1024)
    payload_format: Literal["envelope", "raw"] = Field(
        "envelope", description="the payload_format of new endpoints that name none"
    )
    job_profile: dict[str, Any] | None = Field(None, description=JOB_PROFILE)
    max_items_per_job: int | None = Field(None, ge=1, le=1_000_000_000, description=MAX_ITEMS)
    portal_name: str | None = Field(None, min_length=1, max_length=100, description=PORTAL_NAME)
    portal_color: str | None = Field(None, pattern=COLOR, description=PORTAL_COLOR)


class AppPatch(Patch):
    nullable = frozenset({"uid", "job_profile", "max_items_per_job", "portal_name", "portal_color"})
    name: str | None = Field(None, min_length=1, max_length=200)
    uid: str | None = Field(None, min_length=1, max_length=200, pattern=UID)
    metadata: dict[str, Any] | None = None
    results_inline_budget: int | None = Field(None, ge=1024, le=16 * 1024 * 1024)
    payload_format: Literal["envelope", "raw"] | None = None
    job_profile: dict[str, Any] | None = Field(None, description=JOB_PROFILE)
    max_items_per_job: int | None = Field(None, ge=1, le=1_000_000_000, description=MAX_ITEMS)
    portal_name: str | None = Field(None, min_length=1, max_length=100, description=PORTAL_NAME)
    portal_color: str | None = Field(None, pattern=COLOR, description=PORTAL_COLOR)


class EventTypeIn(Input):
    name: str = Field(min_length=1, max_length=256, json_schema_extra=EVENT_TYPE)
    description: str = Field("", max_length=4000)
    schema_: dict[str, Any] | None = Field(None, alias="schema")


class EventTypePatch(Patch):
    nullable = frozenset({"schema_"})
    description: str | None = Field(None, max_length=4000)
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    archived: bool | None = None


class EndpointIn(Input):
    url: str = Field(min_length=1, max_length=2048, json_schema_extra=WEB_URL)
    description: str = Field("", max_length=4000)
    events: list[Annotated[str, Field(json_schema_extra=EVENT_FILTER)]] | None = Field(
        None, max_length=500, description="empty = every type"
    )
    secret: str | None = Field(None, min_length=8, max_length=200)
    retry_schedule: list[float] | None = Field(None, description="seconds before each retry")
    timeout_seconds: float = Field(10.0, gt=0, le=30)
    rate_limit_per_second: float | None = Field(None, ge=0.01, le=10_000)
    max_in_flight: int | None = Field(None, ge=1, le=1000)
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    status: Literal["active", "paused"] = "active"
    payload_format: Literal["envelope", "raw"] | None = Field(
        None,
        description="envelope: {event, id, timestamp, data}; raw: the payload alone"
        " (default: the app's payload_format)",
    )


class EndpointPatch(Patch):
    nullable = frozenset({"rate_limit_per_second", "events", "retry_schedule", "headers"})
    url: str | None = Field(None, min_length=1, max_length=2048, json_schema_extra=WEB_URL)
    description: str | None = Field(None, max_length=4000)
    events: list[Annotated[str, Field(json_schema_extra=EVENT_FILTER)]] | None = Field(
        None, max_length=500
    )
    retry_schedule: list[float] | None = None
    timeout_seconds: float | None = Field(None, gt=0, le=30)
    rate_limit_per_second: float | None = Field(None, ge=0.01, le=10_000)
    max_in_flight: int | None = Field(None, ge=1, le=1000)
    headers: dict[str, str] | None = Field(None, max_length=50)
    status: Literal["active", "paused"] | None = None
    payload_format: Literal["envelope", "raw"] | None = None


class RotateIn(Input):
    secret: str | None = Field(None, min_length=8, max_length=200)
    grace_seconds: float = Field(
        86_400, ge=0, le=30 * 86_400, description="how long the old secret keeps signing"
    )


class RecoverIn(Input):
    since: str = Field(
        description="RFC 3339 time; failed deliveries created since are re-queued",
        json_schema_extra={"format": "date-time"},
    )


class BulkResendIn(Input):
    since: str = Field(
        description="RFC 3339 time; deliveries created since are re-queued",
        json_schema_extra={"format": "date-time"},
    )
    until: str | None = Field(
        None,
        description="RFC 3339 time; deliveries created later are left (default: the call)",
        json_schema_extra={"format": "date-time"},
    )
    event_type: str | None = Field(None, min_length=1, max_length=256, json_schema_extra=EVENT_TYPE)
    endpoint_id: str | None = Field(None, min_length=1, max_length=64)
    status: Literal["failed", "all"] = Field(
        "failed", description="`failed`: failed deliveries; `all`: every finished one"
    )


class MessageIn(Input):
    event_type: str = Field(min_length=1, max_length=256, json_schema_extra=EVENT_TYPE)
    payload: Any = Field(description="any JSON value: delivered as the body's `data`")
    event_id: str | None = Field(None, min_length=1, max_length=256)
    tags: list[str] = Field(default_factory=list, max_length=20)


class ResendIn(Input):
    endpoint_id: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorOut(BaseModel):
    error: ErrorBody
