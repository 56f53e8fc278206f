"""Typed, time-sortable identifiers (``app_…``, ``msg_…``).

An id is a type prefix and 26 Crockford base32 characters: 48 bits of milliseconds since the
epoch then 80 random bits (the ULID layout). Ids of one type therefore sort by creation time,
which is what cursor pagination relies on.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PREFIXES = frozenset({"app", "ep", "msg", "dlv", "att", "job", "key", "item", "evt", "inb"})


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id such as ``msg_01J9Z…``; ``prefix`` names the resource type."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_encode(ms, 10)}{_encode(rand, 16)}"


def id_prefix(value: str) -> str | None:
    """The type prefix of ``value`` (``"app"`` for ``app_…``), or None if it has none."""
    head, sep, _ = value.partition("_")
    return head if sep and head in PREFIXES else None
