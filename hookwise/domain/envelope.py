"""The bodies a message is sent as: the envelope, or the payload alone (an endpoint's
``payload_format``).

A message is stored once, as its envelope ``{"event", "id", "timestamp", "data"}``. An
endpoint whose ``payload_format`` is ``"raw"`` is sent ``data`` alone: the payload as the
producer posted it (its JSON value, compact, keys in the order given). That body is cut out of
the stored envelope, not parsed and written again: the envelope's head is ``{"event":"…",
"id":"…","timestamp":"…","data":`` and none of its three strings can hold a quote (an event
name, a message id and an RFC 3339 time), so the first ``,"data":`` ends the head.
"""

from __future__ import annotations

from typing import Literal

import orjson

PayloadFormat = Literal["envelope", "raw"]
PAYLOAD_FORMATS: tuple[PayloadFormat, ...] = ("envelope", "raw")

_HEAD = b'{"event":"'
_DATA = b'","data":'


def envelope(event_type: str, msg_id: str, stamp: str, payload: object) -> bytes:
    """The envelope of a message (``stamp``: its time in RFC 3339)."""
    return orjson.dumps({"event": event_type, "id": msg_id, "timestamp": stamp, "data": payload})


def payload_of(body: bytes) -> bytes | None:
    """The ``data`` of an envelope as it stands in ``body``; None when ``body`` is no envelope
    (a job event is its own body: it is sent as stored in every format)."""
    if not body.startswith(_HEAD) or not body.endswith(b"}"):
        return None
    cut = body.find(_DATA, len(_HEAD))
    if cut < 0:
        return None
    head = body[:cut]
    if b'","id":"' not in head or b'","timestamp":"' not in head:
        return None
    return body[cut + len(_DATA) : -1]


def sent_body(body: bytes, payload_format: str) -> tuple[bytes, PayloadFormat | None]:
    """What an attempt sends of a stored ``body`` for an endpoint's ``payload_format``, and
    ``"raw"`` when that is the payload alone (None: the body as stored)."""
    if payload_format == "raw":
        raw = payload_of(body)
        if raw is not None:
            return raw, "raw"
    return body, None
