"""Event types and endpoint subscriptions."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hookwise.domain.errors import InvalidInput

_NAME = re.compile(r"^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$")
_FILTER = re.compile(r"^([a-zA-Z0-9_-]+\.)*([a-zA-Z0-9_-]+|\*)$")

TEST_EVENT = "webhook.test"


def validate_event_type(name: object, field: str = "event_type") -> str:
    """A dotted event name such as ``email.replied``."""
    if not isinstance(name, str) or not name or len(name) > 256 or not _NAME.fullmatch(name):
        raise InvalidInput(field, "must be a dotted name such as 'email.replied'")
    return name


def validate_filters(filters: Iterable[object], field: str = "events") -> tuple[str, ...]:
    """Endpoint subscriptions: exact names or a trailing wildcard (``job.*``, ``*``)."""
    out = []
    for i, f in enumerate(filters):
        if not isinstance(f, str) or not _FILTER.fullmatch(f) or len(f) > 256:
            raise InvalidInput(f"{field}[{i}]", "must be an event name or a prefix like 'job.*'")
        out.append(f)
    return tuple(dict.fromkeys(out))


def matches(filters: Iterable[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to ``filters`` receives ``event_type`` (empty = all)."""
    any_filter = False
    for f in filters:
        any_filter = True
        if f == "*" or f == event_type:
            return True
        if f.endswith(".*") and event_type.startswith(f[:-1]):
            return True
    return not any_filter
