"""A request's declared body size (``Content-Length``), read alike by every adapter."""

from __future__ import annotations

from hookwise.domain.text import is_decimal

# More digits than this is more than any body limit (and int() refuses past 4,300 digits).
_MAX_DIGITS = 18
_HUGE = 1 << 62


def declared_length(value: str | bytes | None) -> int | None:
    """The length a request declares; None when absent or not a plain decimal number.

    A negative length (``-1``) is not a length: a WSGI stream asked for ``read(-1)`` reads to
    the end of the connection, past any body limit, and holds the worker while it waits.
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    if not is_decimal(text):
        return None
    return int(text) if len(text) <= _MAX_DIGITS else _HUGE
