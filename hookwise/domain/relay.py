"""The relay protocol of ``hookwise listen``: the frames on its WebSocket, as small values.

A listener connects to ``/v1/apps/{app}/listen?name=…&events=…`` and the server answers
``Ready`` (the relay endpoint it became, and its signing secret). Then the server sends one
``RelayRequest`` per attempt (the exact headers and body a worker would have POSTed) and the
listener answers each with a ``RelayAnswer`` (what its local URL answered), which the server
records as the attempt's result. ``Refused`` ends a connection that cannot listen (a bad key, an
unknown app, a bad name). Each frame is one JSON text message with a ``type``.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from hookwise.domain.errors import InvalidInput

#: The URL a relay endpoint is stored with: it names the listener, and no worker sends to it.
RELAY_SCHEME = "relay://"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
#: What an answer may carry back of the local answer's body and error (as a worker keeps).
BODY_LIMIT = 4096
ERROR_LIMIT = 500


def relay_url(name: str) -> str:
    """The URL of the relay endpoint of listener ``name`` (1-63 letters, digits, ``.``, ``_``,
    ``-``, starting with a letter or digit)."""
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            "name", "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return RELAY_SCHEME + name


@dataclass(frozen=True, slots=True)
class Ready:
    """Server → listener, once: the relay endpoint the connection feeds."""

    endpoint_id: str
    name: str
    events: tuple[str, ...]
    secret: str

    def encode(self) -> str:
        """The frame's text."""
        return _dumps({"type": "ready", "endpoint_id": self.endpoint_id, "name": self.name,
                       "events": list(self.events), "secret": self.secret})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Refused:
    """Server → listener: this connection cannot listen; ``status`` is the HTTP status the same
    request would have been answered with (401, 404, 422…)."""

    status: int
    message: str

    def encode(self) -> str:
        """The frame's text."""
        return _dumps({"type": "refused", "status": self.status, "message": self.message})


@dataclass(frozen=True, slots=True)
class RelayRequest:
    """Server → listener: one attempt to forward, its headers (signatures included) and body."""

    delivery_id: str
    message_id: str
    event_type: str
    attempt: int
    timeout_seconds: float
    headers: dict[str, str]
    body: bytes

    def encode(self) -> str:
        """The frame's text (the body in base64: it is sent byte for byte)."""
        return _dumps({
            "type": "request", "delivery_id": self.delivery_id, "message_id": self.message_id,
            "event_type": self.event_type, "attempt": self.attempt,
            "timeout_seconds": self.timeout_seconds, "headers": self.headers,
            "body": base64.b64encode(self.body).decode(),
        })  # fmt: skip


@dataclass(frozen=True, slots=True)
class RelayAnswer:
    """Listener → server: what the local URL answered to one ``RelayRequest``.

    ``status`` is None when no answer came (``error`` says why: refused, timed out); ``body``
    is the answer's first 4 KiB as text; ``retry_after`` and ``location`` are those headers."""

    delivery_id: str
    status: int | None
    duration_ms: float
    error: str | None = None
    body: str | None = None
    retry_after: str | None = None
    location: str | None = None

    def encode(self) -> str:
        """The frame's text."""
        return _dumps({
            "type": "answer", "delivery_id": self.delivery_id, "status": self.status,
            "duration_ms": self.duration_ms, "error": self.error, "body": self.body,
            "retry_after": self.retry_after, "location": self.location,
        })  # fmt: skip


Frame = Ready | Refused | RelayRequest | RelayAnswer


def decode(text: str | bytes) -> Frame:
    """The frame of a message; InvalidInput (naming the field) for anything malformed."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidInput("frame", "is not JSON") from None
    if not isinstance(raw, dict):
        raise InvalidInput("frame", "must be a JSON object")
    f = _Fields(raw)
    kind = f.text("type")
    if kind == "answer":
        status = f.optional(int, "status")
        if status is not None and not 100 <= status <= 599:
            raise InvalidInput("status", "must be an HTTP status (100-599)")
        return RelayAnswer(
            f.text("delivery_id"), status, max(0.0, f.number("duration_ms")),
            _cut(f.optional(str, "error"), ERROR_LIMIT), _cut(f.optional(str, "body"), BODY_LIMIT),
            f.optional(str, "retry_after"), f.optional(str, "location"),
        )  # fmt: skip
    if kind == "request":
        try:
            body = base64.b64decode(f.text("body"), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("body", "must be base64") from None
        return RelayRequest(
            f.text("delivery_id"), f.text("message_id"), f.text("event_type"),
            f.get(int, "attempt"), f.number("timeout_seconds"), f.headers(), body,
        )  # fmt: skip
    if kind == "ready":
        events = f.get(list, "events")
        return Ready(
            f.text("endpoint_id"), f.text("name"), tuple(map(str, events)), f.text("secret")
        )
    if kind == "refused":
        return Refused(f.get(int, "status"), f.text("message"))
    raise InvalidInput("type", f"is not a frame type: {kind!r}")


class _Fields:
    """Typed reads of a frame's fields, each wrong one an InvalidInput naming it."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw

    def get(self, kind: type[Any], name: str) -> Any:
        value = self._raw.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidInput(name, f"must be of type {kind.__name__}")
        return value

    def optional(self, kind: type[Any], name: str) -> Any:
        return None if self._raw.get(name) is None else self.get(kind, name)

    def text(self, name: str) -> str:
        value: str = self.get(str, name)
        return value

    def number(self, name: str) -> float:
        value = self._raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(name, "must be a number")
        return float(value)

    def headers(self) -> dict[str, str]:
        value = self.get(dict, "headers")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise InvalidInput("headers", "must map names to strings")
        return dict(value)


def _cut(text: str | None, limit: int) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 3] + "..."


def _dumps(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()
