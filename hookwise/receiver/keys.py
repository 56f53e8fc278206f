"""What a delivery is called and the key it is deduplicated under: pure rules, stated once.

**Event type**: the configured ``event_field``, else the body's ``event``, else ``type`` (the
Standard Webhooks name), else ``default_event_type``, else the event the shape names for its
status (hookwise: ``job.completed`` / ``job.failed`` / ``job.canceled``), else its status, else
``""``. A polled job object is named the same way, without ``type`` (a job's ``type`` is its
kind of work, not an event).

**Dedupe key** with a body-field ``dedupe_key`` (e.g. ``"workflow_id"``):

- a job's **completion** (its event type is one the shape names a finished job by, or its
  status is terminal) is stored under the field's value alone (``wf_1``): there is one per job,
  the reconciler stores a polled result under the same key, so exactly one of them is
  processed, and inboxes written before this rule already hold completions that way;
- **any other event** is stored under ``"<event type>:<value>"``, and an event about one item
  of the job (its ``item_key`` field, ``item.id`` by default, holds a value) under
  ``"<event type>:<value>:<item id>"``: a retried delivery (or a resend under a new message
  id) is still a duplicate, a different event about the same job never is.

Without ``dedupe_key`` the key is the message id (the ``webhook-id`` header, else the body's
``id``, else the SHA-256 of the body); a callable ``dedupe_key`` is used as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from hookwise.receiver.errors import BadPayload
from hookwise.receiver.job_shape import JobShape, field_value


def event_type_of(
    payload: Mapping[str, Any],
    shape: JobShape | None = None,
    *,
    event_field: str | None = None,
    default: str | None = None,
    polled: bool = False,
) -> str:
    """The event type of a webhook body (or, ``polled``, of a polled job object)."""
    if event_field is not None:
        named = field_value(payload, event_field)
        if named is not None:
            return named
    for name in ("event",) if polled else ("event", "type"):
        value = payload.get(name)
        if isinstance(value, str) and value:
            return value
    if default:
        return default
    status = field_value(payload, shape.status if shape else "status")
    if status is None:
        return ""
    return (shape.events if shape else {}).get(status, status)


def message_id(payload: Mapping[str, Any], webhook_id: str | None, body: bytes) -> str:
    """What tells one message from another: ``webhook-id``, the body's ``id``, or its hash."""
    if webhook_id:
        return webhook_id
    return field_value(payload, "id") or "sha256:" + hashlib.sha256(body).hexdigest()


def scoped_key(value: str, event_type: str, item: str | None, *, completion: bool) -> str:
    """The stored key for a body-field dedupe ``value`` (see the module's docstring)."""
    if completion:
        return value
    return f"{event_type}:{value}" if item is None else f"{event_type}:{value}:{item}"


def legacy_safe_key(value: str) -> str:
    """Where a completion goes when an inbox written before the scoped rule holds an item
    event under its bare key (that event swallowed the key; this one must not be lost)."""
    return f"completion:{value}"


def key_from(spec: str | Callable[[dict[str, Any]], object], payload: dict[str, Any]) -> str:
    """The dedupe value a spec (a dotted body field, or a callable) finds in a payload."""
    if isinstance(spec, str):
        value = field_value(payload, spec)
        if value is None:
            raise BadPayload(f"missing {spec}", details={"field": spec})
        return value
    found = spec(payload)
    if found is None or found == "":
        raise BadPayload("the dedupe key function found no key")
    return str(found)
