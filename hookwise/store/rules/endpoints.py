"""Rules of apps, event types and endpoints: which columns a change may set and in what stored
form, what pausing and resuming do to deliveries, and how a secret rotates."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from hookwise.store import rows

APP_FIELDS = frozenset({
    "name", "uid", "metadata", "results_inline_budget", "payload_format", "job_profile",
    "max_items_per_job", "portal_name", "portal_color",
})  # fmt: skip
EVENT_TYPE_FIELDS = frozenset({"description", "schema", "archived"})
ENDPOINT_FIELDS = frozenset({
    "url", "description", "events", "retry_schedule", "timeout_seconds",
    "rate_limit_per_second", "max_in_flight", "headers", "status", "paused_reason",
    "payload_format",
})  # fmt: skip
_ENDPOINT_JSON = frozenset({"events", "retry_schedule"})
_FLOATS = frozenset({"timeout_seconds", "rate_limit_per_second"})

# What a delivery of an endpoint becomes when the endpoint's status changes.
Release = Literal["hold", "release"]


def _known(changes: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise ValueError(f"unknown {what} fields {unknown}")


_APP_JSON = frozenset({"metadata", "job_profile"})


def _app_json(key: str, value: Any) -> str | None:
    return None if value is None and key == "job_profile" else rows.dumps(value)


def app_sets(changes: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The columns an app change sets (only ``APP_FIELDS``; metadata and the job profile as
    JSON text, a null profile as NULL)."""
    _known(changes, APP_FIELDS, "app")
    sets = {k: (_app_json(k, v) if k in _APP_JSON else v) for k, v in changes.items()}
    sets["updated_at"] = now
    return sets


def event_type_sets(changes: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The columns an event type change sets (only ``EVENT_TYPE_FIELDS``)."""
    _known(changes, EVENT_TYPE_FIELDS, "event type")
    sets = dict(changes)
    if "schema" in sets:
        sets["schema"] = rows.dumps(sets["schema"]) if sets["schema"] else None
    if "archived" in sets:
        sets["archived"] = bool(sets["archived"])
    sets["updated_at"] = now
    return sets


def endpoint_sets(
    changes: Mapping[str, Any], encrypt: Callable[[str], str], now: float
) -> dict[str, Any]:
    """The columns an endpoint change sets (only ``ENDPOINT_FIELDS``, in stored form).

    Resuming (``status: active``) also forgets the failure streak and the pause reason: the
    endpoint starts over, and auto-pause counts from zero again.
    """
    _known(changes, ENDPOINT_FIELDS, "endpoint")
    sets: dict[str, Any] = {}
    for k, v in changes.items():
        if k in _ENDPOINT_JSON:
            v = rows.dumps(list(v) if isinstance(v, tuple) else v)
        elif k == "headers":
            v = rows.headers_column(v, encrypt)
        elif k in _FLOATS and v is not None:
            v = float(v)
        sets[k] = v
    if changes.get("status") == "active":
        sets["consecutive_failures"] = 0
        sets["paused_reason"] = None
    sets["updated_at"] = now
    return sets


def deliveries_on_status(changes: Mapping[str, Any]) -> Release | None:
    """What a change does to the endpoint's deliveries (the kind of ``store.backlog`` step it
    runs): pausing holds the pending ones (``hold``), resuming makes the held ones due now with
    a fresh schedule (``release``)."""
    status = changes.get("status")
    if status == "paused":
        return "hold"
    if status == "active":
        return "release"
    return None


def rotated_secrets(
    previous: Sequence[Sequence[Any]], sealed_current: str, old_valid_until: float, now: float
) -> list[list[Any]]:
    """The ``previous_secrets`` after a rotation: the current (sealed) secret first, valid
    until ``old_valid_until``, then the older ones that have not expired yet."""
    kept = [[secret, until] for secret, until in previous if until > now]
    return [[sealed_current, old_valid_until], *kept]
