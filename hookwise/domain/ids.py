"""Typed, time-sortable identifiers (``app_…``, ``msg_…``).

An id is a type prefix and 26 Crockford base32 characters: 48 bits of milliseconds since the
epoch then 80 random bits (the ULID layout). Ids of one type therefore sort by creation time,
which is what cursor pagination relies on.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# every 10-bit value as its two Crockford characters: an id is 13 table lookups
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_RANDOM_CHUNK = 4096  # random bytes drawn from the OS at a time (10 per id)

PREFIXES = frozenset(
    {"app", "ep", "msg", "dlv", "att", "job", "key", "item", "evt", "inb", "bin", "req"}
)


class _Entropy:
    """os.urandom read in chunks rather than one system call per id; forgotten on fork, so a
    child process never hands out its parent's random bits."""

    def __init__(self) -> None:
        self.buf = b""
        self.pos = 0

    def take80(self) -> int:
        pos = self.pos
        if pos + 10 > len(self.buf):
            self.buf = os.urandom(_RANDOM_CHUNK)
            pos = 0
        self.pos = pos + 10
        return int.from_bytes(self.buf[pos : pos + 10], "big")

    def forget(self) -> None:
        self.buf = b""
        self.pos = 0


_entropy = _Entropy()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_entropy.forget)
_last_ms = -1
_last_ms_text = ""


def _encode(value: int, pairs: int) -> str:
    p = _PAIRS
    return "".join([p[(value >> (10 * i)) & 1023] for i in range(pairs - 1, -1, -1)])


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """A new id such as ``msg_01J9Z…``; ``prefix`` names the resource type."""
    global _last_ms, _last_ms_text
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    # 26 characters = 130 bits: 2 zero bits and 48 bits of milliseconds (10 characters),
    # then 80 random bits (16 characters)
    if ms != _last_ms:
        _last_ms_text = _encode(ms & (1 << 48) - 1, 5)
        _last_ms = ms
    r = _entropy.take80()
    p = _PAIRS
    return (
        f"{prefix}_{_last_ms_text}{p[r >> 70]}{p[r >> 60 & 1023]}{p[r >> 50 & 1023]}"
        f"{p[r >> 40 & 1023]}{p[r >> 30 & 1023]}{p[r >> 20 & 1023]}{p[r >> 10 & 1023]}{p[r & 1023]}"
    )


def id_floor(prefix: str, at: float) -> str:
    """The id every ``prefix`` id minted at ``at`` (seconds, ms precision) or later sorts
    after, and every one minted earlier before: a keyset bound by creation time (times
    before the epoch or past the 48 bits of milliseconds are the ends of that range)."""
    ms = min(max(int(at * 1000), 0), (1 << 48) - 1)
    return f"{prefix}_{_encode(ms, 5)}"


def id_prefix(value: str) -> str | None:
    """The type prefix of ``value`` (``"app"`` for ``app_…``), or None if it has none."""
    head, sep, _ = value.partition("_")
    return head if sep and head in PREFIXES else None
