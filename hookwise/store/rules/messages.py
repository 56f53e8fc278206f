"""Rules of accepting a message: which endpoints it goes to, whatever the database."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import orjson

from hookwise.domain.events import matches

Row = Mapping[str, Any]

#: The kinds of endpoint that subscribe to event types: regular ones, and the relays a
#: ``hookwise listen`` becomes (a job target receives only its own job's events).
SUBSCRIBERS = ("endpoint", "relay")
#: ``SUBSCRIBERS`` as a SQL condition on an endpoint row's ``kind``.
SUBSCRIBER_SQL = "kind IN ('endpoint', 'relay')"


def targets(
    endpoints: Sequence[Row], event_type: str, only: str | None, extra: Collection[str]
) -> list[Row]:
    """The endpoints a new message goes to, in order: ``only`` alone when it is given (a test
    ping, a job's own target); else every subscribing endpoint (``SUBSCRIBERS``) subscribed
    to ``event_type``, then the ``extra`` ones not among them. ``endpoints`` are the rows read
    for the message (``id``, ``kind``, ``events``); an id that is not among them (deleted)
    gets no delivery, and no endpoint gets two."""
    if only is not None:
        return [e for e in endpoints if e["id"] == only]
    chosen = [
        e
        for e in endpoints
        if e["kind"] in SUBSCRIBERS and matches(orjson.loads(e["events"]), event_type)
    ]
    if extra:
        by_id = {e["id"]: e for e in endpoints}
        seen = {e["id"] for e in chosen}
        chosen += [by_id[x] for x in dict.fromkeys(extra) if x in by_id and x not in seen]
    return chosen


class Event(NamedTuple):
    """An event about to be committed as a message in a transaction that changes something
    else (a job's events, the operational events; ``store.event_messages``)."""

    id: str
    event_type: str
    body: bytes
    at: float


def fan_out(
    events: Sequence[Event], endpoints: Sequence[Mapping[str, Any]], target: str | None
) -> list[tuple[Event, str, str]]:
    """(event, endpoint id, status) of each delivery of ``events``: every ordinary endpoint
    subscribed to the event type, plus ``target`` (a job's own, which takes all its events),
    as for any message (``targets``).
    ``endpoints`` are rows with ``id``, ``kind``, ``events`` and ``status``, the status each
    delivery starts in, read by the statement that selected them (``enqueue.held_or_pending``:
    ``held`` while the endpoint is paused), as for any message."""
    own = () if target is None else (target,)
    by_type: dict[str, list[Mapping[str, Any]]] = {}
    out = []
    for event in events:
        to = by_type.get(event.event_type)
        if to is None:
            to = by_type[event.event_type] = targets(endpoints, event.event_type, None, own)
        out += [(event, e["id"], e["status"]) for e in to]
    return out
