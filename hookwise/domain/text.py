"""Text every store keeps alike: PostgreSQL's text type refuses the NUL character (SQLite keeps
it), so hookwise refuses it in what it is asked to store and replaces it in what others send."""

from __future__ import annotations

NUL = "\x00"
NUL_REFUSED = "must not contain the NUL character (U+0000)"


def storable(text: str) -> str:
    """``text`` with its NUL characters as U+FFFD (receivers' answers, handlers' errors)."""
    return text.replace(NUL, "\ufffd") if NUL in text else text
