"""Operational events: what hookwise tells an operator about the endpoints it delivers to.

Four event types, sent as messages of the **operations app** (``HOOKWISE_OPERATIONS_APP``) to
its endpoints, signed and retried like any message. Each is an envelope as every message is,
``{"event", "id", "timestamp", "data"}``; ``data`` names the app and endpoint concerned:

- ``endpoint.failing``: the endpoint's failure streak reached the warning threshold, before a
  pause (once per streak);
- ``endpoint.paused``: the endpoint was paused, by hookwise (``trigger: automatic``) or by hand
  (``manual``), with the ``reason``;
- ``endpoint.enabled``: a paused endpoint was enabled again;
- ``delivery.exhausted``: a delivery failed for good (its retries are spent).

The schemas below are the catalog's (``GET /v1/event-types``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

from hookwise.domain.envelope import envelope

FAILING = "endpoint.failing"
PAUSED = "endpoint.paused"
ENABLED = "endpoint.enabled"
EXHAUSTED = "delivery.exhausted"

Trigger = Literal["automatic", "manual"]

_STR = {"type": "string"}
_NULL_STR = {"type": ["string", "null"]}
_NULL_INT = {"type": ["integer", "null"]}
_ENDPOINT = {
    "app_id": _STR,
    "app_uid": _NULL_STR,
    "endpoint_id": _STR,
    "url": _STR,
}


def _schema(title: str, extra: dict[str, Any]) -> dict[str, Any]:
    props = {**_ENDPOINT, **extra}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": props,
        "required": sorted(props),
    }


class CatalogEntry(NamedTuple):
    """An operational event type as the catalog lists it."""

    name: str
    description: str
    schema: dict[str, Any]


_FAILURE = {"last_status_code": _NULL_INT, "last_error": _NULL_STR}
CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        FAILING,
        "An endpoint's failure streak reached the warning threshold"
        " (HOOKWISE_OPERATIONS_FAILING_AFTER); sent once per streak, before any pause.",
        _schema(
            FAILING,
            {
                "consecutive_failures": {"type": "integer"},
                "pause_after": {"type": "integer"},
                **_FAILURE,
            },
        ),
    ),
    CatalogEntry(
        PAUSED,
        "An endpoint was paused: by hookwise after consecutive failures or a 410 Gone"
        " (trigger: automatic), or by hand (manual); its deliveries are held.",
        _schema(
            PAUSED,
            {
                "trigger": {"enum": ["automatic", "manual"]},
                "reason": _NULL_STR,
                "consecutive_failures": {"type": "integer"},
            },
        ),
    ),
    CatalogEntry(
        ENABLED,
        "A paused endpoint was enabled again; its held deliveries are due.",
        _schema(ENABLED, {"trigger": {"enum": ["manual"]}}),
    ),
    CatalogEntry(
        EXHAUSTED,
        "A delivery failed for good: every attempt of its retry schedule failed.",
        _schema(
            EXHAUSTED,
            {
                "message_id": _STR,
                "delivery_id": _STR,
                "event_type": _NULL_STR,
                "attempts": {"type": "integer"},
                **_FAILURE,
            },
        ),
    ),
)
NAMES = frozenset(e.name for e in CATALOG)


def stamp(at: float) -> str:
    """RFC 3339 UTC with a Z (milliseconds), as every message's ``timestamp``."""
    when = datetime.fromtimestamp(at, tz=UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body(event_type: str, msg_id: str, at: float, data: dict[str, Any]) -> bytes:
    """The stored body of an operational event: the envelope of every message."""
    return envelope(event_type, msg_id, stamp(at), data)
