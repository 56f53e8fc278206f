"""Rules of the request inspector's bins and captures (``store.inspector``), written once.

What a bin answers, how much of a request it keeps, and what it never keeps: a request sent to
a bin by a signed-in browser carries the dashboard's cookie, and one sent with curl may carry a
hookwise API key; neither is the bin's to show, so both are masked before anything is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from hookwise.domain.errors import InvalidInput

DEFAULT_STATUS = 200
MASK = "***"
_KEY = re.compile(r"hwk_[A-Za-z0-9_\-]+")
_OWN_COOKIE = re.compile(r"\s*hookwise[A-Za-z0-9_\-]*=")

Header = tuple[str, str]


def bin_status(value: object) -> int:
    """The status a bin answers with: an integer from 200 to 599 (default 200)."""
    if value is None:
        return DEFAULT_STATUS
    if isinstance(value, bool) or not isinstance(value, int) or not 200 <= value <= 599:
        raise InvalidInput("status", "must be an integer from 200 to 599")
    return value


def bin_name(value: object) -> str | None:
    """A bin's optional name: text of at most 200 characters."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200 or "\x00" in value:
        raise InvalidInput("name", "must be text of at most 200 characters")
    return value


def cut(body: bytes, limit: int) -> tuple[bytes, bool]:
    """The part of ``body`` kept (its first ``limit`` bytes) and whether it was cut."""
    if len(body) <= limit:
        return body, False
    return body[:limit], True


def masked(headers: Iterable[Header]) -> list[Header]:
    """``headers`` with hookwise's own credentials masked: API keys anywhere in a value, and
    the dashboard's cookies (``hookwise…=``) in a ``Cookie`` header."""
    out = []
    for name, value in headers:
        if name.lower() == "cookie":
            value = "; ".join(
                c.split("=", 1)[0].strip() + "=" + MASK if _OWN_COOKIE.match(c) else c.strip()
                for c in value.split(";")
            )
        out.append((name, _KEY.sub("hwk_" + MASK, value)))
    return out


def header_map(headers: Sequence[Header]) -> dict[str, str]:
    """Headers by lower-case name; a repeated header's values joined with ``, `` (RFC 9110)."""
    out: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out
