"""Counts in words: "1 failed delivery", "2 failed deliveries"."""

from __future__ import annotations

_IRREGULAR = {"delivery": "deliveries", "entry": "entries", "was": "were"}


def plural(n: int, singular: str, many: str | None = None) -> str:
    """``n`` and the noun phrase, its last word in the plural unless ``n`` is 1."""
    if n == 1:
        return f"{n:,} {singular}"
    if many is None:
        head, _, last = singular.rpartition(" ")
        word = _IRREGULAR.get(last, last + ("es" if last.endswith(("s", "x")) else "s"))
        many = f"{head} {word}" if head else word
    return f"{n:,} {many}"
