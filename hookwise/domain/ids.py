"""Typed, time-sortable identifiers (``app_…``, ``msg_…``).

An id is a type prefix and 26 Crockford base32 characters: 48 bits of milliseconds since the
epoch then 80 random bits (the ULID layout). Ids of one type therefore sort by creation time,
which is what cursor pagination relies on.
"""

from __future__ import annotations

import base64
import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# base32 of the standard alphabet, re-lettered to Crockford's so that text order = byte order
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())

PREFIXES = frozenset({"app", "ep", "msg", "dlv", "att", "job", "key", "item", "evt", "inb"})


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id such as ``msg_01J9Z…``; ``prefix`` names the resource type."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    # 20 bytes = 32 base32 characters; the value fills the last 26 (2 zero bits + 48 + 80)
    raw = (ms << 80 | int.from_bytes(os.urandom(10), "big")).to_bytes(20, "big")
    text = base64.b32encode(raw).translate(_TO_CROCKFORD)[6:].decode()
    return f"{prefix}_{text}"


def id_prefix(value: str) -> str | None:
    """The type prefix of ``value`` (``"app"`` for ``app_…``), or None if it has none."""
    head, sep, _ = value.partition("_")
    return head if sep and head in PREFIXES else None
