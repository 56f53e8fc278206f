"""Text every store keeps alike: PostgreSQL's text type refuses the NUL character (SQLite keeps
it), so hookwise refuses it in what it is asked to store and replaces it in what others send."""

from __future__ import annotations

NUL = "\x00"
NUL_REFUSED = "must not contain the NUL character (U+0000)"
REDACTED = "***"
"""A custom header's value where it is shown (endpoint answers, the attempt log's request
headers): they often hold a token. ``GET …/endpoints/{id}/headers`` shows them."""


def is_text(text: str) -> bool:
    """True unless ``text`` holds a lone surrogate (``"\\ud800"``: it has no UTF-8 form)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_decimal(text: str) -> bool:
    """True when ``text`` is ASCII digits alone (``int`` also takes ``+1``, `` 1``, ``1_0``
    and other scripts' digits)."""
    return text.isascii() and text.isdigit()


def storable(text: str) -> str:
    """``text`` with its NUL characters as U+FFFD (receivers' answers, handlers' errors)."""
    return text.replace(NUL, "\ufffd") if NUL in text else text
