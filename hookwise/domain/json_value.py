"""Free JSON the API stores and must be able to give back: payloads, metadata, schemas, job
results. What every read can encode again is decided here, once, before anything is written.

- at most ``MAX_DEPTH`` levels of nesting (the answer that lists a value wraps it in a few more
  levels, and the JSON encoder stops at 255);
- integers that fit in 64 bits, signed (what PostgreSQL's ``bigint``, most JSON parsers and every
  receiver's language keep exactly; send larger numbers as strings);
- finite numbers (``1e400`` parses as infinity, which JSON cannot say);
- text that is valid Unicode: no lone UTF-16 surrogate (``"\\ud800"``), in keys or values.
"""

from __future__ import annotations

import math
from typing import Any

from hookwise.domain.text import is_text

MAX_DEPTH = 64
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1


class JsonValueError(ValueError):
    """A value no read could give back; ``path`` says where, ``kind`` which rule it broke
    (``"depth"``, ``"surrogate"``: the body is not JSON this API takes; ``"number"``: a field's
    value is out of range)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.path: list[str] = []

    @property
    def where(self) -> str:
        """``a.b[2]``-style location inside the checked value ('' for the value itself); a key
        that is not valid text is shown escaped."""
        where = "".join(reversed(self.path)).lstrip(".")
        return where if is_text(where) else where.encode("utf-8", "backslashreplace").decode()

    def __str__(self) -> str:
        return f"{self.reason} (at {self.where})" if self.path else self.reason


def check(value: Any) -> None:
    """Raise JsonValueError unless ``value`` reads back as it was written."""
    if not _fine(value):
        _check(value, 0)  # the slower walk that names where


def _fine(value: Any) -> bool:
    """True when ``value`` keeps every rule: one loop over the containers, scalars checked in
    place (the ingest path runs it on every payload; a recursive call per value cost ~3x)."""
    kind = type(value)
    if kind is not dict and kind is not list:
        return _scalar(value)
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if type(container) is dict:
            for key in container:
                if not key.isascii() and not is_text(key):
                    return False
            items = container.values()
        else:
            items = container
        for item in items:
            kind = type(item)
            if kind is str:
                if not item.isascii() and not is_text(item):
                    return False
            elif kind is dict or kind is list:
                stack.append((item, depth + 1))
            elif kind is int:
                if not MIN_INT <= item <= MAX_INT:
                    return False
            elif kind is float and item - item != 0.0:  # inf - inf is nan
                return False
    return True


def _scalar(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return is_text(value)
    if kind is int:
        return bool(MIN_INT <= value <= MAX_INT)
    if kind is float:
        return math.isfinite(value)
    return True


def _check(value: Any, depth: int) -> None:
    kind = type(value)
    if kind is dict or kind is list:
        if depth >= MAX_DEPTH:
            raise JsonValueError("depth", f"JSON nests deeper than {MAX_DEPTH} levels")
        items = value.items() if kind is dict else enumerate(value)
        for key, item in items:
            try:
                if type(key) is str and not is_text(key):
                    raise JsonValueError("surrogate", "a key holds a lone UTF-16 surrogate")
                _check(item, depth + 1)
            except JsonValueError as exc:
                exc.path.append(f".{key}" if kind is dict else f"[{key}]")
                raise
    elif kind is str:
        if not is_text(value):
            raise JsonValueError("surrogate", "text holds a lone UTF-16 surrogate (U+D800-U+DFFF)")
    elif kind is int:
        if not MIN_INT <= value <= MAX_INT:
            raise JsonValueError(
                "number", "integers must fit in 64 bits (-2^63 to 2^63-1): send it as a string"
            )
    elif kind is float and not math.isfinite(value):
        raise JsonValueError("number", "numbers must be finite")
